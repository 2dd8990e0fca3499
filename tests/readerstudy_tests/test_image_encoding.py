"""Case images: exact pixels, never equal bytes (across studies, clones and hidden repeats), and a decode
bounded in pixels x bit depth whose peak memory stays under 300 MB for the largest image allowed."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from readerstudy import builder, services_drafts
from readerstudy.images import ImageError, image_path, store_case_image
from readerstudy.models import Case

from .factories import make_candidates

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _pixels(case: Case) -> np.ndarray:
    with Image.open(image_path(case.image)) as im:
        return np.asarray(im).copy()


def _bytes(case: Case) -> bytes:
    return image_path(case.image).read_bytes()


def test_hidden_repeats_and_clones_have_the_same_pixels_in_different_bytes(artifacts, tmp_path, reader_a, admin_user):
    cands = make_candidates(tmp_path / "src", n_pie=6, n_non=6)
    study = builder.study_create_from_candidates(
        title="Repeats", candidates=cands, n_forms=1, cases_per_form=8, repeat_cases=2, readers=[reader_a],
        created_by=admin_user,
    )  # fmt: skip
    repeats = list(Case.objects.filter(study=study, repeat_of__isnull=False).select_related("repeat_of"))
    assert len(repeats) == 2
    for repeat in repeats:
        assert np.array_equal(_pixels(repeat), _pixels(repeat.repeat_of))
        assert _bytes(repeat) != _bytes(repeat.repeat_of)
    copy = services_drafts.study_clone(study=study, created_by=admin_user)
    ours = {c.source_image_id: c for c in Case.objects.filter(study=study, repeat_of__isnull=True)}
    for case in Case.objects.filter(study=copy, repeat_of__isnull=True):
        assert np.array_equal(_pixels(case), _pixels(ours[case.source_image_id]))
        assert _bytes(case) != _bytes(ours[case.source_image_id])
    # And no stored file equals any other or its source file.
    every = [_bytes(c) for c in Case.objects.all()] + [c.image_path.read_bytes() for c in cands]
    assert len(set(every)) == len(every)


def test_pixels_survive_exactly_for_gray_colour_and_16_bit_sources(artifacts, tmp_path):
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (70, 50), dtype=np.uint8)
    colour = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    deep = (np.arange(60 * 20, dtype=np.uint16).reshape(60, 20) * 37 + 1000).astype(np.uint16)
    for name, arr in (("g.png", gray), ("c.png", colour), ("d.png", deep)):
        Image.fromarray(arr).save(tmp_path / name)
    lo, hi = float(deep.min()), float(deep.max())
    want = {
        "g.png": gray,
        "c.png": colour,
        "d.png": np.rint((deep.astype(np.float64) - lo) * 255.0 / (hi - lo)).astype(np.uint8),
    }
    for name, expected in want.items():
        stored = store_case_image(tmp_path / name, 1, name[0])
        with Image.open(Path(artifacts) / stored.relpath) as im:
            assert np.array_equal(np.asarray(im), expected), name


def test_a_colour_image_too_large_to_decode_is_refused_before_decoding(artifacts, tmp_path):
    Image.new("RGB", (8192, 8192)).save(tmp_path / "big.png")
    with pytest.raises(ImageError, match="decodes to 192 MB, more than the 128 MB allowed"):
        store_case_image(tmp_path / "big.png", 1, "big")


MEASURE = """
import json, os, resource, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from pathlib import Path
settings.ARTIFACT_ROOT = Path(sys.argv[2])
from readerstudy.images import store_case_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stored = store_case_image(Path(sys.argv[1]), 1, "big")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": (after - before) / 1024, "width": stored.width}))
"""


def test_the_largest_allowed_16_bit_image_is_stored_within_300_mb(tmp_path):
    """8192 x 8192 at 16 bits (a 130 KB file can declare it): the old float64 path took 2 GB."""
    ramp = (np.arange(8192, dtype=np.uint32) * 8).astype(np.uint16)
    Image.fromarray(np.broadcast_to(ramp, (8192, 8192)).copy()).save(tmp_path / "deep.png")
    (tmp_path / "art").mkdir()
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path / "deep.png"), str(tmp_path / "art")],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["width"] == 8192 and result["peak_mb"] < 300, result
