"""Reader-study fixtures: tiny grayscale PNG candidates, and a small built study with two readers."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from readerstudy.design import Candidate

LABELS = ["Atelectasis", "Effusion", "Cardiomegaly", "Nodule"]


def make_png(path: Path, seed: int, size: int = 24) -> Path:
    """A small grayscale PNG carrying text metadata, so tests can check that none survives the copy."""
    rng = np.random.default_rng(seed)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"secret-metadata-{seed}")
    Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8), mode="L").save(path, pnginfo=info)
    return path


def make_candidates(folder: Path, n_pie: int, n_non: int, prefix: str = "src") -> list[Candidate]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n_pie + n_non):
        pie = k < n_pie
        sid = f"{prefix}-{'P' if pie else 'N'}{k:04d}.png"
        out.append(
            Candidate(
                image_path=make_png(folder / sid, k),
                source_image_id=sid,
                is_pie=pie,
                correlation=round(0.1 + k / 1000 + (0 if pie else 0.5), 6),
                dataset="HIDDENSET",
                shown_labels=[LABELS[k % len(LABELS)]],
                hidden_truth={"noise": f"truth-{k:04d}"},
            )
        )
    return out


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The shared user fixtures hash passwords; PBKDF2 costs ~0.6 s per user on the CI machines.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT.mkdir()
    return settings.ARTIFACT_ROOT


@pytest.fixture
def candidates(tmp_path):
    return make_candidates(tmp_path / "src", n_pie=8, n_non=8)


@pytest.fixture
def study(artifacts, candidates, reader_a, reader_b, admin_user):
    """Open study: 2 forms x 6 cases (3 PIE + 3 non-PIE), reader A on form 1, reader B on form 2."""
    from readerstudy import services

    s = services.study_create_from_candidates(
        title="Small study",
        candidates=candidates,
        n_forms=2,
        cases_per_form=6,
        readers=[reader_a, reader_b],
        seed=7,
        created_by=admin_user,
        source={"kind": "test"},
    )
    return services.study_open(study=s)


def answer_all(reader, study, *, quality=3, difficulty=2, agree="yes", upto=None):
    """Rate the reader's cases in their order (all, or the first `upto`)."""
    from readerstudy import services
    from readerstudy.models import Assignment, Case

    assignment = Assignment.objects.get(study=study, reader=reader)
    for case_id in assignment.order[:upto]:
        services.answers_submit(
            reader=reader,
            case=Case.objects.get(pk=case_id),
            values={"agree_label": agree, "quality": quality, "difficulty": difficulty},
            complete=True,
        )
    return assignment
