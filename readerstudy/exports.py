"""Answer exports: the tidy long CSV and VIA-compatible CSVs in the layout of the paper's survey files.

VIA layout (VGG Image Annotator 2 CSV export, as read by PruneCXR's pie_survey_analysis.py):
  filename, file_size, file_attributes, region_count, region_id, region_shape_attributes, region_attributes
with `file_attributes` a JSON object whose keys are the question texts and whose values are strings
("yes"/"no", "1".."5", free text). Unanswered questions are left out of the object (the paper's reader
turns a missing key into NaN, whereas an empty string would count as "no"). There are no regions, so
region_count and region_id are 0 and the two region JSON columns are "{}".

The paper's script ignores which image is a PIE: it sorts rows by filename and calls the first 20
"PIE". `paper_order=True` prefixes file names with "a_" (PIE) / "b_" (non-PIE) so that this sort puts
the PIEs first and the script's labels come out right; rows are written PIEs first either way.
Hidden repeat cases are not part of the paper's design and stay out of the VIA file (the tidy export
has them), and so do the answers naming which shown label is wrong (question kind "labels"). Unanswered
cases are left out, and file names end in an image extension. The zip also holds
pie_mapping.csv (filename, pie), so the export imports back with `import_via_survey`. A reader with
simulated answers gets "_simulated" in the VIA file name (VIA has no field for it); the tidy export has a
`simulated` column.
"""

import io
import json
import zipfile
from typing import Any

from common.csvsafe import rows_csv_text
from readerstudy.models import Answer, Assignment, Case, Study
from readerstudy.tables import FLAG_COLUMNS, TIDY_COLUMNS, answers_tidy, case_flags, profile_columns
from readerstudy.via import VIA_COLUMNS, write_pie_mapping


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Through common.csvsafe's one neutraliser (formula triggers quoted, "\r\n" line ends)."""
    return rows_csv_text(([_cell(row.get(c)) for c in columns] for row in rows), columns)


def _cell(value: Any) -> Any:
    """Booleans as 0/1, JSON for structures, and text a spreadsheet will not run."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return "" if value is None else value


def tidy_csv(*, study: Study) -> str:
    rows = answers_tidy(study=study)
    truth = sorted({k for r in rows for k in r if k.startswith("truth_")})
    return _csv_text(rows, TIDY_COLUMNS + truth + profile_columns(rows))


def flags_csv(*, study: Study) -> str:
    """The cases readers flagged, with their comments (one row per reader and case)."""
    return _csv_text(case_flags(study=study), FLAG_COLUMNS)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm")


def via_filename(case: Case, *, paper_order: bool) -> str:
    """The case's source image id, with an image extension (VIA names image files; ".png" if it had none)."""
    name = case.source_image_id
    if not name.lower().endswith(IMAGE_SUFFIXES):
        name += ".png"
    return f"{'a' if case.is_pie else 'b'}_{name}" if paper_order else name


def via_rows(*, assignment: Assignment, paper_order: bool = False) -> list[dict[str, Any]]:
    """One row per answered (non-repeat) case of the reader's form, PIEs first, then by source image id.
    Cases without any answer are left out (VIA lists annotated files)."""
    cases = sorted(
        Case.objects.filter(forms=assignment.form, repeat_of__isnull=True),
        key=lambda c: (not c.is_pie, c.source_image_id),
    )
    answers: dict[int, dict[str, str]] = {}
    for a in Answer.objects.filter(assignment=assignment, case__repeat_of__isnull=True).select_related("question"):
        if (a.value == "" and a.question.kind == "text") or a.question.kind == "labels":
            continue  # VIA has no field for "which label is wrong" (the tidy CSV and JSON carry it)
        answers.setdefault(a.case_id, {})[a.question.text] = str(a.value)
    order = {q.text: q.order for q in assignment.study.questions.all()}
    rows = []
    for case in cases:
        attrs = dict(sorted(answers.get(case.pk, {}).items(), key=lambda kv: order.get(kv[0], 0)))
        if not attrs:
            continue
        rows.append(
            {
                "filename": via_filename(case, paper_order=paper_order),
                "file_size": case.image_bytes,
                "file_attributes": json.dumps(attrs),
                "region_count": 0,
                "region_id": 0,
                "region_shape_attributes": "{}",
                "region_attributes": "{}",
            }
        )
    return rows


def via_csv(*, assignment: Assignment, paper_order: bool = False) -> str:
    return _csv_text(via_rows(assignment=assignment, paper_order=paper_order), VIA_COLUMNS)


def via_export_name(assignment: Assignment) -> str:
    """The file name; "_simulated" in it marks a reader with simulated answers (VIA has no field for that)."""
    simulated = "_simulated" if assignment.answers.filter(simulated=True).exists() else ""
    return f"study{assignment.study_id}_form{assignment.form.number}_{assignment.pseudonym}{simulated}_via.csv"


PIE_MAPPING_NAME = "pie_mapping.csv"


def via_pie_mapping(*, study: Study, paper_order: bool = False) -> str:
    """filename, pie for every non-repeat case: the mapping `import_via_survey --pies` reads back."""
    cases = Case.objects.filter(study=study, repeat_of__isnull=True)
    return write_pie_mapping([(via_filename(c, paper_order=paper_order), c.is_pie) for c in cases])


def via_zip(*, study: Study, paper_order: bool = False) -> bytes:
    """Every reader's VIA file of the study in one zip (one file per form and reader), plus the PIE mapping
    file, so `import_via_survey --csv *_via.csv --pies pie_mapping.csv` rebuilds the same statistics."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for assignment in Assignment.objects.filter(study=study).select_related("form", "study"):
            zf.writestr(via_export_name(assignment), via_csv(assignment=assignment, paper_order=paper_order))
        zf.writestr(PIE_MAPPING_NAME, via_pie_mapping(study=study, paper_order=paper_order))
    return buffer.getvalue()
