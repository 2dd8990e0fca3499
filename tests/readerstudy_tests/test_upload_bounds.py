"""Upload bombs (admins only): a CSV of 400,000 empty columns and a zip of 200,000 directory entries are
refused, with bounded memory, and the web request reads only the zip's end record."""

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from readerstudy.upload import MAX_COLUMNS, MAX_ENTRIES, UploadError, _read_csv, check_archive, zip_directory_check
from readerstudy.zipend import directory_size


def test_a_csv_of_400000_empty_columns_is_refused_within_50_mb():
    data = b"filename,shown_labels,is_pie" + b"," * 400_000 + b"\r\na.png,x,1\r\n"
    tracemalloc.start()
    with pytest.raises(UploadError, match=f"400003 columns; at most {MAX_COLUMNS}"):
        _read_csv(data, "cases.csv")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MB"


def test_a_row_with_too_many_cells_is_refused_by_row():
    data = b"filename,shown_labels,is_pie\r\na.png,x,1\r\nb.png,x,0" + b",z" * 500 + b"\r\n"
    with pytest.raises(UploadError, match="row 3: 503 cells"):
        _read_csv(data, "cases.csv")


def test_rows_read_as_before_short_rows_padded_and_blank_lines_skipped():
    rows = _read_csv(b"filename,shown_labels,is_pie,noise\r\na.png,x,1\r\n\r\nb.png, y ,0,0.5\r\n", "c.csv")
    assert rows == [
        {"filename": "a.png", "shown_labels": "x", "is_pie": "1", "noise": ""},
        {"filename": "b.png", "shown_labels": "y", "is_pie": "0", "noise": "0.5"},
    ]


def _many_entries(path: Path, n: int) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for k in range(n):
            zf.writestr(f"d{k}/", b"")  # folders: not files, yet each is a directory entry to parse
    return path


def test_a_zip_of_many_directory_entries_is_refused_from_its_end_record_alone(tmp_path, monkeypatch):
    path = _many_entries(tmp_path / "many.zip", MAX_ENTRIES + 1)
    assert directory_size(path)[0] == MAX_ENTRIES + 1

    def no_parse(*args, **kwargs):
        raise AssertionError("the central directory was parsed")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", no_parse)
    with pytest.raises(UploadError, match=f"{MAX_ENTRIES + 1} directory entries"):
        zip_directory_check(path)
    with pytest.raises(UploadError, match="directory entries"):
        check_archive(path)


def test_the_end_record_reader_agrees_with_zipfile_on_zip64_and_comments(tmp_path):
    path = tmp_path / "z64.zip"
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for k in range(70_000):  # more than 0xFFFF entries: only the zip64 record holds the count
            zf.writestr(zipfile.ZipInfo(f"{k}"), b"")
        zf.comment = b"x" * 1000
    assert directory_size(path)[0] == 70_000
    small = io.BytesIO()
    with zipfile.ZipFile(small, "w") as zf:
        zf.writestr("a.png", b"1")
    (tmp_path / "s.zip").write_bytes(small.getvalue())
    assert directory_size(tmp_path / "s.zip")[0] == 1
