"""Claim: storing the largest case image allowed (8192 x 8192 at 16 bits, a ~150 KB PNG) peaks under 300 MB,
against ~2 GB for the float64 conversion it replaced.

Each path runs in its own fresh Python process, and the figure is that process's peak resident memory
(ru_maxrss) minus its resident memory just before the call, so the interpreter and imports do not count:

* ours: ``readerstudy.images.store_case_image`` (bounded decode, strip-wise float32 stretch, random-filter
  PNG writer from common.png);
* baseline: the replaced code, kept here verbatim in spirit: ``np.asarray(image, dtype=np.float64)``,
  a full-image stretch, ``Image.fromarray`` and Pillow's PNG save.

    .venv/bin/python bench/image_memory.py [--size 8192]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, resource, sys, time
from pathlib import Path
import numpy as np
from PIL import Image
src, out, which = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
if which == "ours":
    import django, os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    settings.ARTIFACT_ROOT = out
    from readerstudy.images import store_case_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if which == "ours":
    store_case_image(src, 1, "bench")
else:
    with Image.open(src) as image:
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo))
        clean = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
        clean = Image.frombytes(clean.mode, clean.size, clean.tobytes())
        clean.save(out / "baseline.png", format="PNG")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": (peak - before) / 1024, "seconds": time.perf_counter() - t}))
"""


def measure(which: str, src: Path, out: Path) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", RUN, str(src), str(out), which], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=8192)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ramp = (np.arange(args.size, dtype=np.uint32) * (65535 // max(1, args.size - 1))).astype(np.uint16)
        src = folder / "deep.png"
        Image.fromarray(np.broadcast_to(ramp, (args.size, args.size)).copy()).save(src)
        print(f"source: {args.size}x{args.size} 16-bit PNG, {src.stat().st_size / 1024:.0f} KB")
        ours = measure("ours", src, folder)
        base = measure("baseline", src, folder)
    print(f"ours:     peak {ours['peak_mb']:.0f} MB, {ours['seconds']:.1f} s")
    print(f"baseline: peak {base['peak_mb']:.0f} MB, {base['seconds']:.1f} s")
    print(f"peak memory ratio (baseline / ours): {base['peak_mb'] / ours['peak_mb']:.1f}x")


if __name__ == "__main__":
    main()
