"""Property tests (hypothesis) of the label-CSV reader: 0/1 tables come back exactly; anything else is an
AnalysisInputError naming the file, never another exception."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.reports.inputs import AnalysisInputError, read_label_csv

BOUNDED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ONE = st.sampled_from(["1", "1.0", " 1", "1 "])
ZERO = st.sampled_from(["0", "0.0", " 0", "0 "])


@BOUNDED
@given(
    labels=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=12),
    data=st.data(),
)
def test_a_01_table_comes_back_exactly(tmp_path, labels, data):
    classes = ["Effusion", "No Finding", "Hernia"]
    lines = ["id," + ",".join(classes)]
    for i, row in enumerate(labels):
        cells = [data.draw(ONE if v else ZERO) for v in row]
        lines.append(f"img{i}.png," + ",".join(cells))
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines) + "\n")
    df, y = read_label_csv(path, classes, "preds.pkl")
    assert y.dtype == np.uint8 and y.tolist() == [[int(v) for v in row] for row in labels]
    assert len(df) == len(labels)


@BOUNDED
@given(text=st.text(max_size=300), classes=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3))
def test_any_text_gives_labels_or_an_error_naming_the_file(tmp_path, text, classes):
    path = tmp_path / "labels.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if False else path.write_bytes(
        text.encode("utf-8", "surrogatepass")
    )
    try:
        _, y = read_label_csv(path, classes, "preds.pkl")
    except AnalysisInputError as exc:
        assert str(path) in str(exc)
        return
    assert set(np.unique(y)) <= {0, 1} and y.shape[1] == len(classes)
