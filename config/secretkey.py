"""The SECRET_KEY file of the demo and the tests, created once even when several processes start at once.

gunicorn's workers each import the settings; with a plain "write if missing" two of them could write
different keys (sessions signed by one worker then fail in another) or one could read a half-written file.
Here each process writes a complete file under a temporary name and links it into place with `os.link`,
which fails if the name exists: exactly one key wins and everyone reads that one, always complete.
"""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def load_or_create_secret_key(path: Path) -> str:
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process won the race: use its key
                os.link(tmp, path)  # atomic create-if-absent
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty; delete it (a new key is made) or set SECRET_KEY.")
    return key
