"""A failed statistics job shows a clean message: the input error's own words, or the kind of failure; never
the traceback or a server path (issue 18: the page showed the raw traceback above the previous numbers)."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis.perception.services import perception_failure
from jobs.models import Job

TRACE = 'Traceback (most recent call last):\n  File "/srv/app/analysis/core/perception/mixed_reml.py", line 9'


def test_an_input_error_is_shown_in_its_own_words_without_the_traceback():
    job = Job(status=Job.Status.FAILED, error=f"PerceptionInputError: Row 3, column 'is_pie': blank.\n\n{TRACE}")
    message = perception_failure(job)
    assert message == "The answers cannot be analysed as they are: Row 3, column 'is_pie': blank."


def test_any_other_failure_names_its_kind_and_no_path():
    job = Job(status=Job.Status.FAILED, error=f"LinAlgError: Matrix is singular at /srv/app/x.py\n\n{TRACE}")
    message = perception_failure(job)
    assert "LinAlgError" in message and "/srv" not in message and "Traceback" not in message


def test_a_job_that_did_not_fail_has_no_message():
    assert perception_failure(Job(status=Job.Status.SUCCEEDED)) == "" and perception_failure(None) == ""


def test_the_statistics_page_never_prints_the_job_error_itself():
    root = Path(__file__).resolve().parents[2] / "templates" / "analysis"
    for name in ("perception.html", "_perception_body.html", "perception_report.html"):
        assert "job.error" not in (root / name).read_text()


@pytest.mark.parametrize(
    "text, words",
    [("", "file is empty"), ("reader,case_id,is_pie,question,question_kind,value_numeric\n", "no rows"),
     ("reader,case_id,is_pie,question,question_kind,value_numeric\nR1,a,1,q,likert,inf\n", "Row 1")],
)  # fmt: skip
def test_the_command_refuses_a_bad_csv_with_one_line_and_no_traceback(tmp_path, text, words):
    path = tmp_path / "answers.csv"
    path.write_text(text)
    with pytest.raises(CommandError, match=words):
        call_command("perception_stats", "--csv", str(path), "--out", str(tmp_path / "out"), "--fast")


def test_the_command_counts_identical_duplicates_on_the_console(tmp_path):
    lines = ["reader,case_id,is_pie,question,question_kind,question_scale,value_numeric"]
    lines += [f"R{r},c{c},{int(c < 4)},quality,likert,5,{1 + (r + c) % 5}" for r in range(3) for c in range(8)]
    path = tmp_path / "answers.csv"
    path.write_text("\n".join([*lines, lines[1], lines[2]]) + "\n")
    out = io.StringIO()
    call_command("perception_stats", "--csv", str(path), "--out", str(tmp_path / "out"), "--fast",
                 "--formats", "png", stdout=out)  # fmt: skip
    assert "2 identical duplicate answer(s) dropped" in out.getvalue()


@pytest.mark.django_db
def test_the_tie_group_at_the_pie_cutoff_is_reported_with_its_share_of_the_pies():
    from analysis.perception.inputs import study_pie_ties
    from pruning.models import Dataset, Experiment, PIESelection
    from readerstudy.models import Study

    exp = Experiment.objects.create(
        dataset=Dataset.objects.create(name="d", kind="synthetic", spec={}), name="e", arch="tiny"
    )
    summary = {"tie_group_in_pies": 61, "tie_break": "image index ascending"}
    sel = PIESelection.objects.create(experiment=exp, n_pies=126, n_images=2520, tie_group_size=90, summary=summary)
    study = Study.objects.create(title="s", source={"kind": "pie_selection", "selection_id": sel.pk})
    ties = study_pie_ties(study=study)
    assert ties["tie_group_size"] == 90 and ties["tie_group_in_pies"] == 61 and ties["share_text"] == "48%"
    assert study_pie_ties(study=Study.objects.create(title="t", source={"kind": "upload"})) is None
