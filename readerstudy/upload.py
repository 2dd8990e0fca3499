"""Reading an uploaded study: a zip of images plus a CSV describing each case.

CSV columns (header row required; UTF-8):
  filename       path of the image inside the zip (or its bare name, when unique)        required
  shown_labels   the label(s) readers judge, separated by "|" or ";" (may be empty)       required
  is_pie         1/0, yes/no, true/false or PIE/non-PIE                                    required
  source_image_id, correlation, dataset                                                   optional
  any other column                                                                         hidden ground truth
The CSV is either uploaded separately or is the one .csv file in the zip. Zip member names are never used
as paths on disk (each image is extracted under a generated name), so a hostile archive cannot escape.
"""

import csv
import io
import math
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from PIL import Image

from common.errors import AppError
from readerstudy.design import Candidate

REQUIRED = ("filename", "shown_labels", "is_pie")
KNOWN = (*REQUIRED, "source_image_id", "correlation", "dataset")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 20000
# Zip bombs and runaway uploads: checked on the zip's directory before anything is extracted, and every
# member is read with a bound (a directory entry could understate what its data inflates to).
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024  # uncompressed sum of all members (and the upload itself)
MAX_MEMBERS = MAX_ROWS + 100
MAX_CSV_BYTES = 32 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for members over RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
MAX_FIELD_CHARS = 10000
MAX_ERRORS_SHOWN = 50
TRUE = {"1", "yes", "true", "pie", "y"}
FALSE = {"0", "no", "false", "non-pie", "nonpie", "non_pie", "n"}


class UploadError(AppError):
    """A malformed upload; `errors` lists every problem found (row numbers count the header as row 1)."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]


def _hidden_value(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer() and "." not in text:
        return int(number)
    return number


def check_archive(archive: IO[bytes] | Path) -> None:
    """Refuse a zip whose directory announces too much: total size, member count, member size or ratio."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise UploadError("The upload is not a zip archive.") from None
    with zf:
        _check_members(zf.infolist())


def _check_members(infos: list[zipfile.ZipInfo]) -> None:
    files = [i for i in infos if not i.is_dir()]
    if len(files) > MAX_MEMBERS:
        raise UploadError(f"The zip holds {len(files)} files; at most {MAX_MEMBERS} are allowed.")
    total = sum(i.file_size for i in files)
    if total > MAX_TOTAL_BYTES:
        raise UploadError(f"The zip unpacks to {total // 2**20} MB; at most {MAX_TOTAL_BYTES // 2**20} MB are allowed.")
    for i in files:
        limit = MAX_CSV_BYTES if i.filename.lower().endswith(".csv") else MAX_IMAGE_BYTES
        if i.file_size > limit:
            raise UploadError(f"'{i.filename}' unpacks to {i.file_size // 2**20} MB; at most {limit // 2**20} MB.")
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(1, i.compress_size):
            raise UploadError(
                f"'{i.filename}' is compressed {i.file_size // max(1, i.compress_size)}:1, more than {MAX_RATIO}:1 "
                "(a zip bomb?)."
            )


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, never more than `limit` whatever its directory entry says."""
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UploadError(f"'{info.filename}' is larger than {limit // 2**20} MB.")
    return data


def _read_csv(data: bytes, name: str) -> list[dict[str, str]]:
    if len(data) > MAX_CSV_BYTES:
        raise UploadError(f"{name} is larger than {MAX_CSV_BYTES // 2**20} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    if "\x00" in text:
        raise UploadError(f"{name} contains NUL characters; is it really a CSV file?")
    try:
        return _parse_csv(text, name)
    except csv.Error as exc:  # e.g. a field longer than csv's limit, or an unterminated quote at the end
        raise UploadError(f"{name} is not a readable CSV file ({exc}).") from None


def _parse_csv(text: str, name: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise UploadError(
            f"{name}: missing column(s) {', '.join(missing)} (found: {', '.join(columns) or 'no header'})."
        )
    rows = []
    for row in reader:
        if len(rows) > MAX_ROWS:  # stop reading: the count below is then "more than"
            break
        cells = {(k or "").strip(): v.strip() if isinstance(v, str) else "" for k, v in row.items() if k is not None}
        if any(len(v) > MAX_FIELD_CHARS for v in cells.values()):
            raise UploadError(f"{name} row {reader.line_num}: a field is longer than {MAX_FIELD_CHARS} characters.")
        rows.append(cells)
    if not rows:
        raise UploadError(f"{name} has no data rows.")
    if len(rows) > MAX_ROWS:
        raise UploadError(f"{name} has more than {MAX_ROWS} rows; at most {MAX_ROWS} are allowed.")
    return rows


def candidates_from_upload(
    archive: IO[bytes] | Path,
    csv_file: IO[bytes] | Path | None,
    workdir: Path,
    progress=None,
    archive_name: str | None = None,
) -> tuple[list[Candidate], dict]:
    """Validate the whole upload and extract its images into `workdir`; raise UploadError listing every problem.

    The zip's directory is checked against the limits before any member is read (see check_archive), and
    `progress(done, total, message)`, when given, hears about every extracted row."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError("The upload is not a zip archive.") from None
    with zf:
        _check_members(zf.infolist())
        members = {
            str(PurePosixPath(i.filename)).lstrip("/"): i
            for i in zf.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        }
        if csv_file is None:
            csvs = [n for n in members if n.lower().endswith(".csv")]
            if len(csvs) != 1:
                found = f"{len(csvs)} ({', '.join(csvs)})" if csvs else "none"
                raise UploadError(
                    f"Put exactly one .csv file of cases in the zip or upload it separately (found {found})."
                )
            csv_name, csv_bytes = csvs[0], _read_member(zf, members[csvs[0]], MAX_CSV_BYTES)
        elif isinstance(csv_file, Path):
            with csv_file.open("rb") as fh:
                csv_name, csv_bytes = csv_file.name, fh.read(MAX_CSV_BYTES + 1)
        else:
            csv_name, csv_bytes = getattr(csv_file, "name", "cases.csv"), csv_file.read(MAX_CSV_BYTES + 1)
        rows = _read_csv(csv_bytes, csv_name)

        by_basename: dict[str, list[str]] = {}
        for name in members:
            by_basename.setdefault(PurePosixPath(name).name, []).append(name)
        errors: list[str] = []
        candidates: list[Candidate] = []
        seen_files: dict[str, int] = {}
        seen_ids: dict[str, int] = {}
        for rownum, row in enumerate(rows, start=2):
            where = f"{csv_name} row {rownum}"
            fname = row.get("filename", "")
            problems = []
            member = members.get(fname.removeprefix("./")) if fname else None
            if member is None and fname and len(by_basename.get(PurePosixPath(fname).name, [])) == 1:
                member = members[by_basename[PurePosixPath(fname).name][0]]
            if not fname:
                problems.append("filename is empty")
            elif member is None:
                problems.append(f"file '{fname}' is not in the zip")
            elif PurePosixPath(member.filename).suffix.lower() not in IMAGE_SUFFIXES:
                problems.append(f"'{fname}' is not a PNG, JPEG, TIFF or BMP file")
            elif member.file_size > MAX_IMAGE_BYTES:
                problems.append(f"'{fname}' is larger than {MAX_IMAGE_BYTES // 2**20} MB")
            elif member.filename in seen_files:
                problems.append(f"'{fname}' is listed again (first on row {seen_files[member.filename]})")
            flag = row.get("is_pie", "").lower()
            if flag not in TRUE | FALSE:
                problems.append(f"is_pie '{row.get('is_pie', '')}' is not one of 1/0, yes/no, true/false, PIE/non-PIE")
            correlation = None
            if row.get("correlation", ""):
                try:
                    correlation = float(row["correlation"])
                except ValueError:
                    problems.append(f"correlation '{row['correlation']}' is not a number")
                else:
                    if math.isnan(correlation):
                        correlation = None
            source_id = row.get("source_image_id") or fname
            if source_id in seen_ids:
                problems.append(f"source_image_id '{source_id}' is used again (first on row {seen_ids[source_id]})")
            if not problems:
                suffix = PurePosixPath(member.filename).suffix.lower()
                target = workdir / f"{rownum}{suffix}"
                try:
                    target.write_bytes(_read_member(zf, member, MAX_IMAGE_BYTES))
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                    problems.append(f"'{fname}' cannot be unpacked ({exc})")
                    target.unlink(missing_ok=True)
                except UploadError as exc:
                    problems.append(exc.message.rstrip("."))
                if not problems:
                    try:
                        with Image.open(target) as im:
                            im.verify()
                    except Exception as exc:  # Pillow raises many types for broken files; all mean "unreadable"
                        problems.append(f"'{fname}' is not a readable image ({exc})")
                if progress is not None and rownum % 20 == 0:
                    progress(rownum - 1, len(rows), f"checked {rownum - 1} of {len(rows)} rows")
            if problems:
                errors.extend(f"{where}: {p}." for p in problems)
                continue
            seen_files[member.filename] = rownum
            seen_ids[source_id] = rownum
            labels = [s.strip() for s in row.get("shown_labels", "").replace(";", "|").split("|") if s.strip()]
            hidden = {k: _hidden_value(v) for k, v in row.items() if k and k not in KNOWN and v != ""}
            candidates.append(
                Candidate(
                    image_path=target,
                    source_image_id=source_id,
                    is_pie=flag in TRUE,
                    correlation=correlation,
                    dataset=row.get("dataset", ""),
                    shown_labels=labels,
                    hidden_truth=hidden,
                )
            )
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > len(shown):
            shown.append(f"... and {len(errors) - len(shown)} more.")
        raise UploadError(f"The upload has {len(errors)} problem(s); nothing was created.", shown)
    name = archive_name or (archive.name if isinstance(archive, Path) else getattr(archive, "name", "upload.zip"))
    return candidates, {"kind": "upload", "archive": str(Path(str(name)).name), "csv": csv_name, "rows": len(rows)}
