"""Every CSV the project writes goes through common.csvsafe's one neutraliser: a cell starting with = + - @
(and | %) or a tab or CR reaches a spreadsheet quoted, whatever its dtype, with "\r\n" line ends. A grep of the
source finds every CSV writer, so a new one that bypasses the neutraliser fails here."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from django.urls import reverse

from common.csvsafe import frame_csv_text, rows_csv_text

ROOT = Path(__file__).resolve().parents[2]
TRIGGERS = ['=HYPERLINK("http://x")', "+1+1", "-cmd", "@SUM(A1)", "\tA", "x\r=1+1", "\r=2"]
# Files that may hold a raw writer: the neutraliser itself, and the synthetic dataset's label files and the
# bench's fixtures (data the loaders read back: generated ids and numbers, never a download).
ALLOWED = {"common/csvsafe.py", "pruning/engine/synthetic.py", "bench/paper_scale.py"}
WRITER = re.compile(r"csv\.writer\(|DictWriter\(|\.to_csv\(")


def _dangerous(cell: str) -> bool:
    return cell[:1] in {"=", "+", "@", "\t", "\r", "|", "%"} or (cell[:1] == "-" and not _number(cell))


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check(text: str, where: str) -> list[list[str]]:
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "").replace('"', ""), f"{where}: not CRLF"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    bad = [cell for row in rows for cell in row if _dangerous(cell)]
    assert bad == [], f"{where}: cells a spreadsheet would run: {bad}"
    return rows


def test_grep_finds_no_csv_writer_outside_the_neutraliser():
    offenders = []
    for path in ROOT.glob("**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "mutation/")) or rel in ALLOWED:
            continue
        if WRITER.search(path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert offenders == [], f"CSV written without common.csvsafe: {offenders}"


@pytest.mark.parametrize("dtype", ["object", "string", "category"])
def test_frames_of_every_text_dtype_are_neutralised(dtype):
    frame = pd.DataFrame({"image_id": pd.Series(TRIGGERS, dtype=dtype), "value": range(len(TRIGGERS))})
    frame["delta"] = -0.5  # a negative number stays a number
    rows = _check(frame_csv_text(frame), dtype)
    # "x\r=1+1" starts harmlessly and is quoted whole, so the CR cannot start a row of its own.
    assert [r[0] for r in rows[1:]] == [t if t.startswith("x") else "'" + t for t in TRIGGERS]
    assert rows[1][2] == "-0.5"


def test_plain_rows_are_neutralised_with_crlf_line_ends():
    rows = _check(rows_csv_text([[t, -3] for t in TRIGGERS], ["=name", "n"]), "rows")
    assert rows[0] == ["'=name", "n"] and rows[1] == ["'" + TRIGGERS[0], "-3"]


@pytest.mark.django_db
def test_every_reader_study_export_neutralises_hostile_cells(settings, tmp_path, reader_a, admin_user):
    from readerstudy import builder, services
    from readerstudy.models import Case, CaseReading
    from tests.readerstudy_tests.factories import make_candidates

    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT.mkdir()
    cands = make_candidates(tmp_path / "src", n_pie=4, n_non=3)
    for cand, hostile in zip(cands, TRIGGERS, strict=True):
        cand.source_image_id = hostile
        cand.shown_labels = [hostile]
    study = builder.study_create_from_candidates(
        title="=CSV", candidates=cands, n_forms=1, cases_per_form=7, readers=[reader_a], created_by=admin_user
    )
    services.study_open(study=study)
    from readerstudy.models import Assignment

    for case_id in Assignment.objects.get(study=study).order:
        case = Case.objects.get(pk=case_id)
        services.answers_submit(
            reader=reader_a, case=case, values={"agree_label": "yes", "quality": 2, "difficulty": 3}, complete=True
        )
    CaseReading.objects.filter(case__study=study).update(flagged=True, flag_comment="@evil\r=1")
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    pk = study.pk
    tidy = client.get(reverse("readerstudy:export_tidy", args=[pk])).content.decode()
    assert "'=HYPERLINK" in tidy
    _check(tidy, "answers.csv")
    _check(client.get(reverse("readerstudy:export_flags", args=[pk])).content.decode(), "flags.csv")
    archive = zipfile.ZipFile(io.BytesIO(client.get(reverse("readerstudy:export_via_zip", args=[pk])).content))
    names = archive.namelist()
    assert "pie_mapping.csv" in names and len(names) == 2
    for name in names:
        rows = _check(archive.read(name).decode(), name)
        if name == "pie_mapping.csv":
            want = [f"{t}.png" if t.startswith("x") else f"'{t}.png" for t in TRIGGERS]
            assert sorted(r[0] for r in rows[1:]) == sorted(want)
