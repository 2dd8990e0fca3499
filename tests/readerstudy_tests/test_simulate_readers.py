"""simulate_readers fills assignments with flagged answers; the tidy table carries what the statistics need."""

import io
import json
import zipfile

import pandas as pd
from django.core.management import call_command

from readerstudy import exports
from readerstudy.models import Answer, Assignment
from readerstudy.tables import answers_tidy

from .conftest import answer_all


def test_simulated_readers_get_flagged_answers_for_every_case_and_question(study, capsys):
    call_command("simulate_readers", "--study", str(study.pk), "--readers", "2", "--seed", "3")
    assert "Simulated 36 answers for 2 readers" in capsys.readouterr().out  # 2 readers x 6 cases x 3 questions
    simulated = Assignment.objects.filter(study=study, reader__username__startswith=f"sim{study.pk}-")
    assert simulated.count() == 2 and all(a.completed_at for a in simulated)
    assert Answer.objects.filter(simulated=True).count() == 36
    assert not Answer.objects.filter(simulated=False).exists()
    assert set(Answer.objects.filter(question__key="agree_label").values_list("value", flat=True)) <= {"yes", "no"}
    assert all(1 <= v <= 5 for v in Answer.objects.filter(question__key="quality").values_list("value", flat=True))


def test_filling_is_idempotent_and_never_overwrites_a_real_answer(study, reader_a):
    answer_all(reader_a, study, quality=4, upto=2)
    call_command("simulate_readers", "--study", str(study.pk), "--seed", "1")
    real = Answer.objects.filter(reader=reader_a, simulated=False)
    assert real.count() == 6 and set(real.filter(question__key="quality").values_list("value", flat=True)) == {4}
    n = Answer.objects.count()
    call_command("simulate_readers", "--study", str(study.pk), "--seed", "2")
    assert Answer.objects.count() == n == 2 * 6 * 3


def test_tidy_rows_carry_shown_labels_simulated_flag_and_order_seed(study, reader_a):
    answer_all(reader_a, study, upto=1)
    call_command("simulate_readers", "--study", str(study.pk), "--readers", "1")
    rows = answers_tidy(study=study)
    real = [r for r in rows if r["reader"] == "R01"]
    sim = [r for r in rows if r["simulated"]]
    assert real and not any(r["simulated"] for r in real) and len(sim) == 18
    seeds = dict(Assignment.objects.filter(study=study).values_list("pseudonym", "seed"))
    assert all(r["order_seed"] == seeds[r["reader"]] for r in rows)
    for r in rows:
        labels = r["shown_labels"]
        assert r["n_shown_diseases"] == len([x for x in labels if x.lower() != "no finding"])
        assert r["question_scale"] == (5 if r["question_kind"] == "likert" else None)
    csv = pd.read_csv(io.StringIO(exports.tidy_csv(study=study)))
    assert set(csv.loc[csv["reader"] == "R03", "simulated"]) == {1}
    assert {"shown_labels", "n_shown_diseases", "order_seed", "simulated"} <= set(csv.columns)
    names = zipfile.ZipFile(io.BytesIO(exports.via_zip(study=study))).namelist()
    assert any(n.endswith("_R03_simulated_via.csv") for n in names)


def test_perception_stats_runs_on_an_exported_tidy_csv(study, tmp_path, capsys):
    call_command("simulate_readers", "--study", str(study.pk), "--seed", "5")
    (tmp_path / "tidy.csv").write_text(exports.tidy_csv(study=study))
    call_command("perception_stats", "--csv", str(tmp_path / "tidy.csv"), "--out", str(tmp_path / "o"), "--fast")
    out = capsys.readouterr().out
    assert "Paper-exact" in out and "(simulated readers)" in out
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["simulated_readers"] == ["R01", "R02"]
    assert (tmp_path / "o" / "fig6_perception.png").stat().st_size > 1000
