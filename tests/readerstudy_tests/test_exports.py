"""Exports: the tidy long CSV and the VIA CSV in the layout of the paper's survey files."""

import io
import json
import zipfile

import pandas as pd
import pytest
from django.urls import reverse

from readerstudy import builder, exports, services, tables
from readerstudy.models import Assignment, Case

from .conftest import answer_all

pytestmark = pytest.mark.django_db

QUESTION_TEXTS = [
    "Do you fully agree with the label?",
    "How would you rate the image quality?",
    "How difficult would you consider it to properly diagnose this image?",
]


def test_tidy_rows_have_one_row_per_answer_with_hidden_flag_and_position(study, reader_a, reader_b):
    a = answer_all(reader_a, study, quality=4, difficulty=2, agree="no")
    answer_all(reader_b, study, upto=2)
    rows = tables.answers_tidy(study=study)
    assert len(rows) == 6 * 3 + 2 * 3
    df = pd.DataFrame(rows)
    mine = df[df.reader == "R01"]
    assert set(mine.question) == {"agree_label", "quality", "difficulty"}
    assert mine[mine.question == "agree_label"].value_numeric.tolist() == [0] * 6
    assert mine[mine.question == "quality"].value_numeric.tolist() == [4] * 6
    # positions recreate the stored order, and the hidden PIE flag is the case's
    first = mine[mine.question == "quality"].sort_values("position")
    assert first.case_id.tolist() == a.order and first.position.tolist() == [1, 2, 3, 4, 5, 6]
    flags = dict(Case.objects.filter(study=study).values_list("pk", "is_pie"))
    assert all(r["is_pie"] == flags[r["case_id"]] for r in rows)
    assert {"truth_noise", "server_seconds", "client_active_seconds", "answered_at"} <= set(df.columns)
    # the per-reader, per-PIE-group summary a perception analysis starts from
    summary = mine.pivot_table(index="is_pie", columns="question", values="value_numeric", aggfunc="mean")
    assert summary.shape == (2, 3)


def test_tidy_csv_download_reads_back_with_pandas(study, reader_a, researcher_client):
    answer_all(reader_a, study, upto=2)
    r = researcher_client.get(reverse("readerstudy:export_tidy", args=[study.pk]))
    assert r["Content-Type"] == "text/csv" and "attachment" in r["Content-Disposition"]
    df = pd.read_csv(io.StringIO(r.content.decode()))
    assert len(df) == 6 and list(df.columns[:5]) == ["study_id", "study", "form", "reader", "case_id"]
    assert set(df.is_pie) <= {0, 1} and df.reader.unique().tolist() == ["R01"]


def read_like_the_paper(csv_text: str, n_pie: int) -> pd.DataFrame:
    """What PruneCXR's pie_survey_analysis.py does with a VIA file (re-stated, not copied)."""
    x = pd.read_csv(io.StringIO(csv_text))
    x = x.groupby("filename", as_index=False).agg("first").reset_index(drop=True)
    x["pie"] = ["PIE"] * n_pie + ["Non-PIE"] * (len(x) - n_pie)
    answers = x["file_attributes"].apply(json.loads)
    x["agree_label"] = answers.apply(lambda d: 1 if d.get(QUESTION_TEXTS[0]) == "yes" else 0)
    x["quality"] = answers.apply(lambda d: int(d[QUESTION_TEXTS[1]]))
    x["difficulty"] = answers.apply(lambda d: int(d[QUESTION_TEXTS[2]]))
    return x


def test_via_csv_has_the_papers_layout_and_its_reader_gets_pie_status_right(artifacts, candidates, reader_a):
    s = builder.study_create_from_candidates(
        title="V", candidates=candidates, n_forms=1, cases_per_form=8, readers=[reader_a], repeat_cases=1, seed=2
    )
    services.study_open(study=s)
    a = Assignment.objects.get(study=s)
    # PIEs get quality 1, non-PIEs quality 5, so a mix-up would show.
    for case_id in a.order:
        case = Case.objects.get(pk=case_id)
        q = 1 if case.is_pie else 5
        services.answers_submit(
            reader=reader_a, case=case, values={"agree_label": "yes", "quality": q, "difficulty": 3}, complete=True
        )
    text = exports.via_csv(assignment=a, paper_order=True)
    header = text.splitlines()[0]
    assert (
        header == "filename,file_size,file_attributes,region_count,region_id,region_shape_attributes,region_attributes"
    )
    raw = pd.read_csv(io.StringIO(text))
    assert len(raw) == 8  # the hidden repeat stays out
    assert (raw.region_count == 0).all() and (raw.region_shape_attributes == "{}").all()
    assert list(json.loads(raw.file_attributes[0])) == QUESTION_TEXTS
    sizes = dict(Case.objects.filter(study=s).values_list("source_image_id", "image_bytes"))
    assert all(sizes[f[2:]] == size for f, size in zip(raw.filename, raw.file_size, strict=True))
    paper = read_like_the_paper(text, n_pie=4)
    assert paper.groupby("pie")["quality"].mean().to_dict() == {"PIE": 1.0, "Non-PIE": 5.0}
    assert paper.agree_label.tolist() == [1] * 8


def test_via_omits_unanswered_questions_and_rows_and_plain_names_by_default(study, reader_a):
    a = Assignment.objects.get(study=study, reader=reader_a)
    first = Case.objects.get(pk=a.order[0])
    services.answers_submit(reader=reader_a, case=first, values={"quality": 2})
    rows = exports.via_rows(assignment=a)
    assert [json.loads(r["file_attributes"]) for r in rows] == [{QUESTION_TEXTS[1]: "2"}]
    assert [r["filename"] for r in rows] == [first.source_image_id]  # already ends in .png: kept as is


def test_via_zip_holds_one_file_per_reader(study, reader_a, researcher_client):
    answer_all(reader_a, study, upto=1)
    r = researcher_client.get(reverse("readerstudy:export_via_zip", args=[study.pk]))
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert names == [f"study{study.pk}_form1_R01_via.csv", f"study{study.pk}_form2_R02_via.csv", "pie_mapping.csv"]
    one = researcher_client.get(reverse("readerstudy:export_via", args=[study.pk, "R01"]))
    assert one.content.decode().startswith("filename,file_size,file_attributes")
