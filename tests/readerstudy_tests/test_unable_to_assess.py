"""'Unable to assess': accepted only where the study allows it, stored and exported without a number,
counted (readerstudy.counts and the statistics' n_unable) and never analysed as a rating."""

import io

import pandas as pd
import pytest

from analysis.core.perception.data import prepare
from readerstudy import exports, services
from readerstudy.answering import UNABLE
from readerstudy.counts import study_counts
from readerstudy.errors import ReaderStudyError
from readerstudy.models import Assignment, Case

pytestmark = pytest.mark.django_db


def _cases(study, reader):
    return [Case.objects.get(pk=pk) for pk in Assignment.objects.get(study=study, reader=reader).order[:2]]


def test_unable_to_assess_is_refused_unless_the_study_allows_it(study, reader_a):
    first, _ = _cases(study, reader_a)
    with pytest.raises(ReaderStudyError, match="does not offer 'unable to assess'"):
        services.answers_submit(reader=reader_a, case=first, values={"quality": UNABLE}, complete=False)


def test_unable_to_assess_is_counted_exported_without_a_number_and_left_out_of_the_statistics(study, reader_a):
    study.design = {**study.design, "allow_unable": True}
    study.save(update_fields=["design"])
    first, second = _cases(study, reader_a)
    services.answers_submit(
        reader=reader_a, case=first, values={"agree_label": "yes", "quality": UNABLE, "difficulty": 2}, complete=True
    )
    services.answers_submit(
        reader=reader_a, case=second, values={"agree_label": "no", "quality": 4, "difficulty": 3}, complete=True
    )
    counts = study_counts(study=study)
    assert (counts.answers, counts.unable) == (5, 1)  # 6 answers given, one of them "unable to assess"
    tidy = pd.read_csv(io.StringIO(exports.tidy_csv(study=study)))
    row = tidy[(tidy.case_id == first.pk) & (tidy.question == "quality")].iloc[0]
    assert row["value"] == UNABLE and pd.isna(row["value_numeric"])
    inp = prepare(tidy)
    assert len(inp.answers) == counts.answers and inp.unable == 1
    assert inp.of("quality")["y"].tolist() == [4.0]
