"""The number of entries and the size of a zip's central directory, from its end records alone (APPNOTE 4.3.16
and, for zip64, 4.3.14-15): a bounded read from the end of the file, whatever the directory holds."""

import struct
from pathlib import Path

from common.errors import AppError

EOCD = b"PK\x05\x06"
ZIP64_LOCATOR = b"PK\x06\x07"
ZIP64_EOCD = b"PK\x06\x06"
TAIL = 22 + 0xFFFF  # the end record plus the longest comment


class ZipEndError(AppError):
    """No (or a damaged) end of central directory record."""


def directory_size(path: Path) -> tuple[int, int]:
    """(entries, central directory bytes) as the zip's end record states them."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        length = fh.tell()
        start = max(0, length - TAIL)
        fh.seek(start)
        tail = fh.read()
        at = tail.rfind(EOCD)
        if at < 0 or len(tail) - at < 22:
            raise ZipEndError("no end of central directory record")
        entries, size = struct.unpack("<HI", tail[at + 10 : at + 16])
        if entries != 0xFFFF and size != 0xFFFFFFFF:
            return entries, size
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != ZIP64_LOCATOR:
            raise ZipEndError("a zip64 archive without its locator")
        (offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        if offset > length - 56:
            raise ZipEndError("a zip64 end record outside the file")
        fh.seek(offset)
        record = fh.read(56)
    if record[:4] != ZIP64_EOCD:
        raise ZipEndError("a damaged zip64 end record")
    entries64, size64 = struct.unpack("<QQ", record[32:48])
    return entries64, size64
