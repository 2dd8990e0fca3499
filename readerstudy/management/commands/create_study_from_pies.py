"""Build a reader study from a PIE table (the engine's pies CSV) and a folder of images."""

import csv
import math
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.commands import user_errors
from readerstudy import builder, services
from readerstudy.design import Candidate

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "pie"}:
        return True
    if value in {"0", "false", "no", "non-pie", ""}:
        return False
    raise ValueError(f"is_pie {text!r} is not 1/0 or true/false")


def read_labels(path: Path) -> dict[str, list[str]]:
    """image id -> shown labels, from NIH's Data_Entry CSV ('Image Index', 'Finding Labels' with '|')
    or a plain CSV with columns image_id, shown_labels."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if rows and "Image Index" in rows[0]:
        return {r["Image Index"]: [s for s in r["Finding Labels"].split("|") if s] for r in rows}
    if rows and {"image_id", "shown_labels"} <= set(rows[0]):
        return {r["image_id"]: [s.strip() for s in r["shown_labels"].split("|") if s.strip()] for r in rows}
    raise CommandError(f"{path}: need columns 'Image Index' + 'Finding Labels', or 'image_id' + 'shown_labels'.")


def _attributes(path: Path) -> dict[str, dict]:
    """image id -> {sex, age_band, view, ...} from a metadata CSV (common.metadata's loose column names)."""
    from common.metadata import MetadataError, read_metadata_csv

    try:
        meta = read_metadata_csv(path)
    except MetadataError as exc:
        raise CommandError(str(exc)) from None
    return meta.drop(columns=["patient_id"], errors="ignore").to_dict("index")


class Command(BaseCommand):
    help = "Create a draft reader study from a PIE table CSV (image_id, is_pie, correlation) and an image folder."

    def add_arguments(self, parser):
        parser.add_argument("--pies", type=Path, required=True, help="PIE table CSV: image_id, is_pie, correlation.")
        parser.add_argument("--images", type=Path, required=True, help="Folder searched (recursively) for the images.")
        parser.add_argument("--labels", type=Path, help="Shown labels: NIH Data_Entry CSV or image_id,shown_labels.")
        parser.add_argument("--title", required=True)
        parser.add_argument("--dataset", default="")
        parser.add_argument("--forms", type=int, default=6)
        parser.add_argument("--cases", type=int, default=40)
        parser.add_argument("--pie-fraction", type=float, default=0.5)
        parser.add_argument("--anchors", default="", help="Comma-separated image ids every reader reads.")
        parser.add_argument("--readers", default="", help="Comma-separated usernames (reader i reads form i).")
        parser.add_argument("--readers-per-form", type=int, default=1)
        parser.add_argument("--repeats", type=int, default=0)
        parser.add_argument("--stratify", action="store_true", help="Match non-PIEs to the PIEs' classes.")
        parser.add_argument(
            "--stratify-by",
            default="",
            metavar="ATTRIBUTE",
            help="Draw PIEs and non-PIEs in the same mix of a subgroup attribute (a column of --metadata).",
        )
        parser.add_argument("--metadata", type=Path, help="Per-image metadata CSV (image_id, sex, age, view, ...).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--open", action="store_true", help="Open the study right away.")

    def handle(self, *args, **o):
        if not o["pies"].is_file():
            raise CommandError(f"{o['pies']}: no such file.")
        if not o["images"].is_dir():
            raise CommandError(f"{o['images']}: no such folder.")
        files = {p.name: p for p in o["images"].rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES}
        labels = read_labels(o["labels"]) if o["labels"] else {}
        attributes = _attributes(o["metadata"]) if o["metadata"] else {}
        candidates, problems = [], []
        with o["pies"].open(newline="", encoding="utf-8-sig") as fh:
            for rownum, row in enumerate(csv.DictReader(fh), start=2):
                image_id = (row.get("image_id") or "").strip()
                path = files.get(image_id) or files.get(f"{image_id}.png")
                try:
                    flag = _flag(row.get("is_pie", ""))
                    corr = float(row["correlation"]) if row.get("correlation", "") not in ("", None) else None
                except ValueError as exc:
                    problems.append(f"{o['pies'].name} row {rownum}: {exc}")
                    continue
                if path is None:
                    problems.append(f"{o['pies'].name} row {rownum}: image '{image_id}' not found under {o['images']}")
                    continue
                candidates.append(
                    Candidate(
                        image_path=path,
                        source_image_id=image_id,
                        is_pie=flag,
                        correlation=None if corr is None or math.isnan(corr) else corr,
                        dataset=o["dataset"],
                        shown_labels=labels.get(image_id, []),
                        attributes=attributes.get(image_id, {}),
                    )
                )
        if problems:
            raise CommandError("\n".join(problems[:50]))
        User = get_user_model()
        names = [n.strip() for n in o["readers"].split(",") if n.strip()]
        readers = list(User.objects.filter(username__in=names))
        missing = sorted(set(names) - {u.username for u in readers})
        if missing:
            raise CommandError(f"Unknown users: {', '.join(missing)} (create them with invite_reader).")
        readers.sort(key=lambda u: names.index(u.username))
        with user_errors():
            study = builder.study_create_from_candidates(
                title=o["title"],
                candidates=candidates,
                n_forms=o["forms"],
                cases_per_form=o["cases"],
                pie_fraction=o["pie_fraction"],
                anchor_ids=[a.strip() for a in o["anchors"].split(",") if a.strip()],
                readers_per_form=o["readers_per_form"],
                readers=readers,
                repeat_cases=o["repeats"],
                stratify_by_class=o["stratify"],
                stratify_by=o["stratify_by"],
                seed=o["seed"],
                source={"kind": "pie_table", "pies": str(o["pies"]), "images": str(o["images"])},
            )
            if o["open"]:
                services.study_open(study=study)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created study {study.pk} '{study.title}' ({study.status}), {study.cases.count()} cases."
            )
        )
