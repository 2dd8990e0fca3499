"""List every file in a Docker image and fail if a secret or a data file is inside.

    python docker/image_files.py prunecxr:web prunecxr:worker [--canary TEXT]

The listing comes from `find` run in a throw-away container (no network), so it is the image's real
filesystem, every layer applied. --canary TEXT also fails when TEXT occurs in any file under /app or
/var/lib/prunecxr: `make docker-smoke` plants a docker/.env and a data/ file holding such a text before it
builds, so a .dockerignore that let them through is caught by content as well as by name.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys

APP = "/app/"
STATE = "/var/lib/prunecxr/"
# Third-party files that look like secrets but are public by design (CA bundles, test fixtures).
VENDOR_DIRS = ("/opt/venv/", "/usr/lib/", "/usr/share/", "/etc/ssl/", "/usr/local/share/ca-certificates/")

SECRET_NAMES = (
    "*.env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "*.kdbx",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    "secret_key",
    "*.secret",
)
DATA_NAMES = (
    "*.npy",
    "*.npz",
    "*.pt",
    "*.pth",
    "*.ckpt",
    "*.safetensors",
    "*.sqlite3",
    "*.db",
    "*.dcm",
    "*.nii",
    "*.nii.gz",
    "*.h5",
    "*.parquet",
)
APP_DIRS = ("data", "var", "artifacts", ".git", ".venv", "tests", "bench", "mutation", "mutants")


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def forbidden(paths: list[str]) -> list[tuple[str, str]]:
    """(path, reason) for each listed path that must not be in an image. Pure: the test feeds it lists."""
    found = []
    for path in paths:
        name = _name(path)
        vendor = path.startswith(VENDOR_DIRS)
        ssh = path.startswith(("/root/.ssh/", "/home/app/.ssh/"))
        if ssh or (not vendor and any(fnmatch.fnmatch(name, p) for p in SECRET_NAMES)):
            found.append((path, "secret file"))
        elif path.startswith((APP, STATE)) and any(fnmatch.fnmatch(name, p) for p in DATA_NAMES):
            found.append((path, "data file"))
        elif path.startswith(APP) and path[len(APP) :].split("/", 1)[0] in APP_DIRS:
            found.append((path, "state, data or development folder in the app"))
        elif path.startswith(STATE) and not path.endswith("/") and not path.startswith(STATE + "static/"):
            found.append((path, "state baked into the image (the artifact volume mounts here)"))
    return found


def list_files(image: str) -> list[str]:
    """Every path in ``image`` (directories with a trailing slash), from `find` in a throw-away container."""
    script = (
        "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune"
        " -o \\( -type d -printf '%p/\\n' -o -print \\)"
    )
    out = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", image, "-c", script],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line and line != "//"]


def files_with_text(image: str, text: str) -> list[str]:
    """Files under /app and /var/lib/prunecxr whose content holds ``text``."""
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "grep", image,
         "-rlF", "--", text, "/app", "/var/lib/prunecxr"],
        capture_output=True, text=True,
    )  # fmt: skip
    return proc.stdout.split()


def main(argv: list[str]) -> int:
    canary = ""
    if "--canary" in argv:
        i = argv.index("--canary")
        canary, argv = argv[i + 1], argv[:i] + argv[i + 2 :]
    failed = False
    for image in argv:
        paths = list_files(image)
        bad = forbidden(paths)
        if canary:
            bad += [(p, "holds the planted canary secret") for p in files_with_text(image, canary)]
        for path, reason in bad:
            print(f"{image}: {path}: {reason}")
        failed |= bool(bad)
        print(f"{image}: {len(paths)} paths listed, {len(bad)} forbidden")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
