"""Reading an uploaded study: a zip of images plus a CSV describing each case.

CSV columns (header row required; UTF-8):
  filename       path of the image inside the zip (or its bare name, when unique)        required
  shown_labels   the label(s) readers judge, separated by "|" or ";" (may be empty)       required
  is_pie         1/0, yes/no, true/false or PIE/non-PIE                                    required
  source_image_id, correlation, dataset                                                   optional
  reference_labels  the reference label(s), "|" or ";" separated: hidden, shown only in the finished
                 reader's review where the study allows it (readerstudy.review)                 optional
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

from common.dicom import DicomError, is_dicom, read_radiograph
from common.errors import AppError
from readerstudy.design import Candidate

REQUIRED = ("filename", "shown_labels", "is_pie")
KNOWN = (*REQUIRED, "source_image_id", "correlation", "dataset")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm"}
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
MAX_COLUMNS = 200  # a 14 MB header of 400,000 empty columns took 565 MB as DictReader rows
MAX_FIELDS = 2_000_000  # cells in the whole CSV (20,000 rows x 100 columns)
MAX_ENTRIES = MAX_MEMBERS + 2000  # every directory entry counts, folders too (200,000 were accepted)
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
    """Refuse a zip whose directory announces too much: entries, total size, member count, member size or ratio.
    Parses the whole central directory: the build job runs it, after `zip_directory_check`."""
    if isinstance(archive, Path):
        zip_directory_check(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise UploadError("The upload is not a zip archive.") from None
    with zf:
        _check_members(zf.infolist())


def _check_members(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ENTRIES:
        raise UploadError(f"The zip has {len(infos)} directory entries; at most {MAX_ENTRIES} are allowed.")
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


def zip_directory_check(path: Path) -> None:
    """Refuse a zip whose central directory has too many entries, reading only its end record (a few hundred
    bytes), so the web request never parses a directory of 200,000 entries: the build job does the rest."""
    from readerstudy.zipend import ZipEndError, directory_size

    try:
        entries, size = directory_size(path)
    except ZipEndError:
        raise UploadError("The upload is not a zip archive.") from None
    if entries > MAX_ENTRIES or size > MAX_ENTRIES * 1024:
        raise UploadError(f"The zip has {entries} directory entries; at most {MAX_ENTRIES} are allowed.")


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
    """Rows as {column: value} (as csv.DictReader gives them: short rows padded with "", extra cells dropped),
    refusing a header or row of more than MAX_COLUMNS cells and more than MAX_FIELDS cells in all before any
    row becomes a dict."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if len(header) > MAX_COLUMNS:
        raise UploadError(f"{name} has {len(header)} columns; at most {MAX_COLUMNS} are allowed.")
    columns = [c.strip() for c in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        shown = ", ".join(columns[:30]) + (", ..." if len(columns) > 30 else "")
        raise UploadError(f"{name}: missing column(s) {', '.join(missing)} (found: {shown or 'no header'}).")
    rows, fields = [], len(header)
    for raw in reader:
        if not raw:
            continue  # a blank line (DictReader skips them too)
        if len(rows) > MAX_ROWS:  # stop reading: the count below is then "more than"
            break
        fields += len(raw)
        if len(raw) > MAX_COLUMNS or fields > MAX_FIELDS:
            raise UploadError(
                f"{name} row {reader.line_num}: {len(raw)} cells; at most {MAX_COLUMNS} per row and {MAX_FIELDS} "
                "in all are allowed."
            )
        cells = {col: raw[i].strip() if i < len(raw) else "" for i, col in enumerate(columns)}
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
    if isinstance(archive, Path):
        zip_directory_check(archive)  # before ZipFile() builds an object per directory entry
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError("The upload is not a zip archive.") from None
    with zf:
        _check_members(zf.infolist())
        members = _image_members(zf)
        csv_name, rows = _cases_csv(zf, members, csv_file)
        rows_checker = _Rows(zf, members, csv_name, workdir)
        for rownum, row in enumerate(rows, start=2):
            rows_checker.add(rownum, row)
            if progress is not None and rownum % 20 == 0 and rows_checker.reached_image:
                progress(rownum - 1, len(rows), f"checked {rownum - 1} of {len(rows)} rows")
    _raise_if_errors(rows_checker.errors)
    name = archive_name or (archive.name if isinstance(archive, Path) else getattr(archive, "name", "upload.zip"))
    source = {"kind": "upload", "archive": str(Path(str(name)).name), "csv": csv_name, "rows": len(rows)}
    return rows_checker.candidates, source


def _image_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's files by normalised name (no directories, no macOS resource forks)."""
    return {
        str(PurePosixPath(i.filename)).lstrip("/"): i
        for i in zf.infolist()
        if not i.is_dir() and not i.filename.startswith("__MACOSX/")
    }


def _cases_csv(
    zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], csv_file: IO[bytes] | Path | None
) -> tuple[str, list[dict[str, str]]]:
    """The cases CSV's name and rows: the uploaded file, else the one .csv inside the zip."""
    if csv_file is None:
        csvs = [n for n in members if n.lower().endswith(".csv")]
        if len(csvs) != 1:
            found = f"{len(csvs)} ({', '.join(csvs)})" if csvs else "none"
            raise UploadError(f"Put exactly one .csv file of cases in the zip or upload it separately (found {found}).")
        csv_name, csv_bytes = csvs[0], _read_member(zf, members[csvs[0]], MAX_CSV_BYTES)
    elif isinstance(csv_file, Path):
        with csv_file.open("rb") as fh:
            csv_name, csv_bytes = csv_file.name, fh.read(MAX_CSV_BYTES + 1)
    else:
        csv_name, csv_bytes = getattr(csv_file, "name", "cases.csv"), csv_file.read(MAX_CSV_BYTES + 1)
    return csv_name, _read_csv(csv_bytes, csv_name)


class _Rows:
    """Checks the CSV's rows one by one: every problem is collected (by row), a good row's image is extracted
    under a generated name and becomes a Candidate. Files and source ids must each be listed once."""

    def __init__(self, zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], csv_name: str, workdir: Path):
        self.zf, self.members, self.csv_name, self.workdir = zf, members, csv_name, workdir
        self.by_basename: dict[str, list[str]] = {}
        for name in members:
            self.by_basename.setdefault(PurePosixPath(name).name, []).append(name)
        self.errors: list[str] = []
        self.candidates: list[Candidate] = []
        self.seen_files: dict[str, int] = {}
        self.seen_ids: dict[str, int] = {}
        self.reached_image = False  # whether the last row got as far as its image (progress counts those)

    def add(self, rownum: int, row: dict[str, str]) -> None:
        fname = row.get("filename", "")
        member = self._member(fname)
        problems = self._file_problems(fname, member)
        flag = row.get("is_pie", "").lower()
        if flag not in TRUE | FALSE:
            problems.append(f"is_pie '{row.get('is_pie', '')}' is not one of 1/0, yes/no, true/false, PIE/non-PIE")
        correlation = _correlation(row, problems)
        source_id = row.get("source_image_id") or fname
        if source_id in self.seen_ids:
            problems.append(f"source_image_id '{source_id}' is used again (first on row {self.seen_ids[source_id]})")
        self.reached_image = not problems
        target = self.workdir / f"{rownum}{PurePosixPath(member.filename).suffix.lower()}" if member else None
        if not problems:
            problems.extend(self._extract(member, target, fname))
        if problems:
            self.errors.extend(f"{self.csv_name} row {rownum}: {p}." for p in problems)
            return
        self.seen_files[member.filename] = rownum
        self.seen_ids[source_id] = rownum
        labels = [s.strip() for s in row.get("shown_labels", "").replace(";", "|").split("|") if s.strip()]
        hidden = {k: _hidden_value(v) for k, v in row.items() if k and k not in KNOWN and v != ""}
        self.candidates.append(
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

    def _member(self, fname: str) -> zipfile.ZipInfo | None:
        """The zip member a row names: by its path, else by its bare name when that is unique in the zip."""
        member = self.members.get(fname.removeprefix("./")) if fname else None
        if member is None and fname and len(self.by_basename.get(PurePosixPath(fname).name, [])) == 1:
            member = self.members[self.by_basename[PurePosixPath(fname).name][0]]
        return member

    def _file_problems(self, fname: str, member: zipfile.ZipInfo | None) -> list[str]:
        if not fname:
            return ["filename is empty"]
        if member is None:
            return [f"file '{fname}' is not in the zip"]
        if PurePosixPath(member.filename).suffix.lower() not in IMAGE_SUFFIXES:
            return [f"'{fname}' is not a PNG, JPEG, TIFF, BMP or DICOM (.dcm) file"]
        if member.file_size > MAX_IMAGE_BYTES:
            return [f"'{fname}' is larger than {MAX_IMAGE_BYTES // 2**20} MB"]
        if member.filename in self.seen_files:
            return [f"'{fname}' is listed again (first on row {self.seen_files[member.filename]})"]
        return []

    def _extract(self, member: zipfile.ZipInfo, target: Path, fname: str) -> list[str]:
        """Unpack the member to `target` (bounded read) and check that Pillow can read it."""
        try:
            target.write_bytes(_read_member(self.zf, member, MAX_IMAGE_BYTES))
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            target.unlink(missing_ok=True)
            return [f"'{fname}' cannot be unpacked ({exc})"]
        except UploadError as exc:
            return [exc.message.rstrip(".")]
        if is_dicom(target):  # decoded in full now, so a refusal comes before anything is built
            try:
                read_radiograph(target, name=fname)
            except DicomError as exc:
                return [exc.message.rstrip(".")]
            return []
        try:
            with Image.open(target) as im:
                im.verify()
        except Exception as exc:  # Pillow raises many types for broken files; all mean "unreadable"
            return [f"'{fname}' is not a readable image ({exc})"]
        return []


def _correlation(row: dict[str, str], problems: list[str]) -> float | None:
    """The row's correlation (None when empty or NaN); a problem is added when it is not a number."""
    if not row.get("correlation", ""):
        return None
    try:
        correlation = float(row["correlation"])
    except ValueError:
        problems.append(f"correlation '{row['correlation']}' is not a number")
        return None
    return None if math.isnan(correlation) else correlation


def _raise_if_errors(errors: list[str]) -> None:
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > len(shown):
            shown.append(f"... and {len(errors) - len(shown)} more.")
        raise UploadError(f"The upload has {len(errors)} problem(s); nothing was created.", shown)
