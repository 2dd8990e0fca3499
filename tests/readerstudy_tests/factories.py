"""Test data for the reader study: tiny grayscale PNGs with metadata, and candidate lists."""

from pathlib import Path

import numpy as np
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


def with_assignment(client, body: dict) -> dict:
    """An answer submission as the reading page sends it: with the sender's assignment of that case
    (or an id that is nobody's when the sender has none)."""
    from readerstudy.models import Assignment

    if not isinstance(body, dict) or "assignment" in body or "case" not in body:
        return body
    user_id = client.session.get("_auth_user_id")
    found = Assignment.objects.filter(reader_id=user_id, form__cases__token=body["case"]).values_list("pk", flat=True)
    return {**body, "assignment": found.first() or 2**31}
