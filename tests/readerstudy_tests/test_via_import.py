"""Importing the paper's survey files: the pure VIA parser, the import service/command, and the round trip
through our own VIA export."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from scipy import stats

from analysis.core.perception.compute import compute_perception
from analysis.perception.inputs import study_tidy_frame
from readerstudy import exports
from readerstudy.models import Answer, Case, Study
from readerstudy.via import PAPER_QUESTIONS, read_pie_mapping, read_via_csv
from readerstudy.via_import import ViaImportError, study_import_via

TEXTS = list(PAPER_QUESTIONS)
HEADER = "filename,file_size,file_attributes,region_count,region_id,region_shape_attributes,region_attributes\n"


def via_text(answers: dict[str, dict], *, regions: int = 1, seed: int = 0) -> str:
    """A VIA export: each file on `regions` rows (one per region), rows shuffled."""
    rows = []
    for filename, attrs in answers.items():
        for r in range(regions):
            shape = json.dumps({"name": "rect", "x": r, "y": r, "width": 5, "height": 5})
            rows.append([filename, 1000, json.dumps(attrs), regions, r, shape, "{}"])
    np.random.default_rng(seed).shuffle(rows)
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, header=False, index=False)
    return HEADER + buffer.getvalue()


def survey(seed: int, n_files: int = 6, n_images: int = 40) -> tuple[list[tuple[str, str]], str, dict]:
    """The paper's design: 6 files of 40 images (20 PIEs), answers drawn at random; PIEs are NOT first."""
    rng = np.random.default_rng(seed)
    files, mapping = [], {}
    for f in range(n_files):
        answers = {}
        for i in range(n_images):
            name = f"img_{f:02d}_{i:03d}.jpg"
            mapping[name] = bool(i % 2)
            answers[name] = {
                TEXTS[0]: "yes" if rng.random() < (0.5 if mapping[name] else 0.8) else "no",
                TEXTS[1]: str(int(rng.integers(1, 6))),
                TEXTS[2]: str(int(rng.integers(1, 6))),
            }
        files.append((f"020523_PIE_CXR_v{f + 1}_csv.csv", via_text(answers, regions=1 + f % 3, seed=f)))
    mapping_text = "filename,pie\n" + "".join(f"{k},{int(v)}\n" for k, v in mapping.items())
    return files, mapping_text, mapping


def paper_pooled(files: list[tuple[str, str]], mapping: dict) -> dict:
    """The paper script's computation (dedupe by filename, pooled), PIE status from the mapping."""
    frames = []
    for _, text in files:
        x = pd.read_csv(io.StringIO(text)).groupby("filename", as_index=False).agg("first")
        d = x["file_attributes"].apply(json.loads)
        x["agree_label"] = d.apply(lambda a: 1 if a[TEXTS[0]] == "yes" else 0)
        x["quality"] = d.apply(lambda a: int(a[TEXTS[1]]))
        x["difficulty"] = d.apply(lambda a: int(a[TEXTS[2]]))
        x["pie"] = x["filename"].map(mapping)
        frames.append(x)
    s = pd.concat(frames)
    out = {}
    for col in ("agree_label", "quality", "difficulty"):
        p, n = s.loc[s.pie, col].to_numpy(float), s.loc[~s.pie, col].to_numpy(float)
        out[col] = {
            "mean": (p.mean(), n.mean()),
            "sd": (p.std(ddof=1), n.std(ddof=1)),
            "welch_p": stats.ttest_ind(p, n, equal_var=False).pvalue,
            "mwu_p": stats.mannwhitneyu(p, n).pvalue,
            "kw_p": stats.kruskal(p, n).pvalue,
        }
    return out


def test_parser_merges_region_rows_and_reports_bad_rows_by_file_and_row():
    good = {TEXTS[1]: "3"}
    text = HEADER + (
        f'a.png,1,"{json.dumps(good).replace(chr(34), chr(34) * 2)}",2,0,{{}},{{}}\n'
        "b.png,1,{not json,0,0,{},{}\n"
        f'a.png,1,"{json.dumps(good).replace(chr(34), chr(34) * 2)}",2,1,{{}},{{}}\n'
    )
    problems = []
    via = read_via_csv(text, "f.csv", problems)
    assert via.answers == {"a.png": good}
    assert problems == [
        "f.csv row 3: file_attributes is not valid JSON (Expecting property name enclosed in double quotes)"
    ]


def test_mapping_accepts_yes_no_true_false_and_reports_bad_flags():
    problems = []
    m = read_pie_mapping("filename,pie,reader\na.png,yes,\nb.png,False,R9\nc.png,maybe,\n", "m.csv", problems)
    assert m.pie == {"a.png": True, "b.png": False} and m.reader == {"b.png": "R9"}
    assert problems == ["m.csv row 4: pie must be 1/0, yes/no or true/false (got 'maybe')"]


@pytest.mark.django_db
def test_import_reports_unmapped_names_bad_json_and_out_of_scale_answers_together():
    files = [
        ("r1.csv", via_text({"a.png": {TEXTS[1]: "7"}, "x.png": {TEXTS[1]: "2"}})),
        ("r2.csv", HEADER + "b.png,1,{oops,0,0,{},{}\n"),
    ]
    with pytest.raises(ViaImportError) as err:
        study_import_via(files=files, mapping=("m.csv", "filename,pie\na.png,1\nb.png,0\n"))
    problems = err.value.problems
    assert any(p.startswith("r2.csv row 2: file_attributes is not valid JSON") for p in problems)
    assert any(
        p.startswith("r1.csv row ") and "'How would you rate the image quality?'" in p and "(got 7)" in p
        for p in problems
    )
    assert "1 filename(s) not in the PIE mapping: x.png" in problems
    assert not Study.objects.exists()  # nothing written


@pytest.mark.django_db
def test_import_then_perception_stats_reproduces_the_paper_scripts_pooled_numbers(tmp_path, capsys):
    files, mapping_text, mapping = survey(seed=4)
    paths = []
    for name, text in files:
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    (tmp_path / "pies.csv").write_text(mapping_text)
    call_command("import_via_survey", "--csv", *paths, "--pies", str(tmp_path / "pies.csv"), "--title", "Paper")
    out = capsys.readouterr().out
    study = Study.objects.get(title="Paper")
    assert out.strip() == f"Imported study {study.pk}: 6 readers, 240 cases, 720 answers"
    assert not Case.objects.filter(study=study).exclude(image="").exists()

    call_command("perception_stats", "--study", str(study.pk), "--out", str(tmp_path / "stats"), "--fast")
    printed = capsys.readouterr().out
    assert "Paper-exact" in printed and "PIEs were rated" in printed
    desc = pd.read_csv(tmp_path / "stats" / "descriptive.csv").set_index(["question", "group"])
    tests = pd.read_csv(tmp_path / "stats" / "paper_tests.csv").set_index("question")
    for q, want in paper_pooled(files, mapping).items():
        assert desc.loc[(q, "PIE"), "mean"] == pytest.approx(want["mean"][0], rel=1e-12)
        assert desc.loc[(q, "non-PIE"), "mean"] == pytest.approx(want["mean"][1], rel=1e-12)
        assert desc.loc[(q, "PIE"), "sd"] == pytest.approx(want["sd"][0], rel=1e-12)
        assert desc.loc[(q, "non-PIE"), "sd"] == pytest.approx(want["sd"][1], rel=1e-12)
        for p in ("welch_p", "mwu_p", "kw_p"):
            assert tests.loc[q, p] == pytest.approx(want[p], rel=1e-9)
    summary = json.loads((tmp_path / "stats" / "summary.json").read_text())
    assert summary["n_readers"] == 6 and summary["n_cases"] == 240


@pytest.mark.django_db
def test_import_command_lists_problems_and_fails(tmp_path):
    (tmp_path / "r.csv").write_text(via_text({"zz.png": {TEXTS[0]: "maybe"}}))
    (tmp_path / "m.csv").write_text("filename,pie\nzz.png,1\n")
    with pytest.raises(
        CommandError, match=r"r.csv row 2: zz.png: 'Do you fully agree with the label\?': Answer yes or no"
    ):
        call_command("import_via_survey", "--csv", str(tmp_path / "r.csv"), "--pies", str(tmp_path / "m.csv"))


@pytest.mark.django_db
def test_other_attributes_become_free_text_questions_and_empty_answers_are_unanswered():
    files = [("r1.csv", via_text({"a.png": {TEXTS[1]: "", "Comments": "blurry"}, "b.png": {TEXTS[1]: "4"}}))]
    result = study_import_via(files=files, mapping=("m.csv", "filename,pie\na.png,1\nb.png,0\n"))
    keys = dict(result.study.questions.values_list("key", "kind"))
    assert keys == {"quality": "likert", "comments": "text"}
    assert sorted(Answer.objects.values_list("value", flat=True), key=str) == [4, "blurry"]


@pytest.mark.django_db
def test_our_via_export_round_trips_to_identical_statistics():
    files, mapping_text, _ = survey(seed=9, n_files=3, n_images=12)
    # Two readers share an image (an anchor case): it must stay one case after the round trip.
    shared = files[0][1].splitlines()[1]
    files[1] = (files[1][0], files[1][1] + shared + "\n")
    first = study_import_via(files=files, mapping=("m.csv", mapping_text)).study
    archive = zipfile.ZipFile(io.BytesIO(exports.via_zip(study=first)))
    names = archive.namelist()
    assert "pie_mapping.csv" in names
    again = study_import_via(
        files=[(n, archive.read(n).decode()) for n in names if n.endswith("_via.csv")],
        mapping=("pie_mapping.csv", archive.read("pie_mapping.csv").decode()),
    ).study
    a = compute_perception(study_tidy_frame(study=first), stage="fast", n_boot=200, figures=False)
    b = compute_perception(study_tidy_frame(study=again), stage="fast", n_boot=200, figures=False)
    assert Case.objects.filter(study=again, is_anchor=True).count() == 1
    for name in ("descriptive", "distribution", "paper_tests", "effect_sizes", "mixed_linear", "ordinal"):
        left, right = a.tables[name], b.tables[name]
        pd.testing.assert_frame_equal(
            left.drop(columns=["warnings"], errors="ignore"), right.drop(columns=["warnings"], errors="ignore")
        )


@pytest.mark.django_db
def test_imported_study_dashboard_renders_cases_without_images(researcher, researcher_client):
    from django.urls import reverse

    files = [("r1.csv", via_text({"a.png": {TEXTS[1]: "2"}, "b.png": {TEXTS[1]: "4"}}))]
    mapping = ("m.csv", "filename,pie\na.png,1\nb.png,0\n")
    study = study_import_via(files=files, mapping=mapping, user=researcher).study  # the researcher owns it
    page = researcher_client.get(reverse("readerstudy:dashboard", args=[study.pk]))
    assert page.status_code == 200 and page.content.decode().count("(no image)") == 2
    case = Case.objects.filter(study=study).first()
    assert researcher_client.get(reverse("readerstudy:image", args=[case.token])).status_code == 404
