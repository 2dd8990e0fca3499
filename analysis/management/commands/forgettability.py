"""`manage.py forgettability`: the whole forgettability + PIE report from the shell (no web server,
no broker, no database writes).

From the paper's released layout::

    python manage.py forgettability --prunecxr-preds DIR --labels DIR --dataset nih-cxr-lt --out OUTDIR

DIR holds ``{dataset}_resnet50_seed-{s}_prune-{r}.pkl`` (seeds and sparsities are read from the
names); the labels DIR holds ``miccai2023_{dataset}_labels_{train,test}.csv``. Both datasets in one
run, as the paper's ``main_analysis.py`` (one process: the start-up is paid once), each report under
OUTDIR/<dataset>; a folder given once serves every dataset, else give one per dataset::

    python manage.py forgettability --prunecxr-preds NIH_DIR MIMIC_DIR --labels LABELS_DIR \
        --dataset nih-cxr-lt mimic-cxr-lt --out OUTDIR

From our own stores::

    python manage.py forgettability --stores s0/predictions.npz s1/predictions.npz \\
        --dataset-spec '{"kind": "synthetic", "root": "var/data/synthetic"}' --out OUTDIR

Also the "who is forgotten" sections (subgroups, calibration, uncertainty; analysis.core.who): per-image
metadata from ``--metadata CSV`` (sex, age, view, user columns), else automatically for NIH-CXR-LT (the NIH
table) and synthetic datasets; without metadata the subgroup tables are empty, the other sections remain.

Writes class_metrics.csv, overall.csv, forgettability.csv, class_summary.csv, fcd_pairs.csv,
pies.csv, the sections' CSVs, summary.json, every figure as PNG (``--formats png svg pdf`` for all three now) and
figure_data.json, from which SVG and PDF are drawn on first download (analysis.core ForgettabilityReport.write).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.reports.inputs import load_stores
from analysis.reports.paper_inputs import load_paper_layout

CORRELATION_LABELS = {
    "first_drop_20_vs_log_train_freq": "first 20% AP drop vs log train freq",
    "delta_ap_95_vs_log_train_freq": "AP change at 95% vs log train freq",
    "fcd_vs_log_freq_diff_paper": "FCD vs |diff log freq| (paper)",
    "fcd_vs_iou_quarter_paper": "FCD vs IoU^(1/4) (paper)",
    "fcd_vs_log_freq_diff_standard": "FCD vs |diff log freq| (standard)",
    "fcd_vs_iou_quarter_standard": "FCD vs IoU^(1/4) (standard)",
}


class TqdmProgress:
    """A Progress callback drawing one tqdm bar per phase on stderr."""

    def __init__(self, stream, disable: bool = False) -> None:
        self.stream, self.disable, self.bar, self.phase = stream, disable, None, None

    def phase_callback(self, phase: str):
        def progress(done: int, total: int, message: str = "") -> None:
            from tqdm import tqdm

            if self.phase != phase:
                self.close()
                self.bar = tqdm(total=total, desc=phase, file=self.stream, disable=self.disable, leave=True)
                self.phase = phase
            self.bar.total = total
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix_str(message[:60], refresh=True)

        return progress

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _spec(value: str) -> dict:
    """--dataset-spec: inline JSON or a path to a JSON file."""
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise CommandError(f"--dataset-spec {value!r} is neither inline JSON nor an existing JSON file")
        text = path.read_text()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--dataset-spec {value!r} is not valid JSON: {exc}") from exc
    if not isinstance(spec, dict) or "kind" not in spec:
        raise CommandError(f"--dataset-spec must be a JSON object with a 'kind'; got {spec!r}")
    return spec


def _per_dataset(dirs: list[str], datasets: list[str], flag: str) -> list[str]:
    """One folder per dataset: a folder given once serves every dataset."""
    if len(dirs) == 1:
        return dirs * len(datasets)
    if len(dirs) != len(datasets):
        raise CommandError(f"{flag}: give one folder, or one per --dataset ({len(dirs)} for {len(datasets)} datasets)")
    return dirs


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3f}"


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Forgettability and PIE report (Figs 1-5, tables, summary.json) from prediction files."

    def add_arguments(self, parser):
        src = parser.add_argument_group("the paper's released layout")
        src.add_argument(
            "--prunecxr-preds", nargs="+", metavar="DIR", help="folder of {dataset}_resnet50_seed-S_prune-R.pkl"
        )
        src.add_argument(
            "--labels", nargs="+", metavar="DIR", help="folder of miccai2023_{dataset}_labels_{train,test}.csv"
        )
        src.add_argument(
            "--dataset",
            nargs="+",
            help="dataset name in the file names, e.g. nih-cxr-lt or mimic-cxr-lt; several: one report each "
            "under OUTDIR/<dataset>, in one run (a folder given once serves every dataset)",
        )
        own = parser.add_argument_group("our prediction stores")
        own.add_argument("--stores", nargs="+", metavar="NPZ", help="one predictions.npz per seed")
        own.add_argument("--dataset-spec", metavar="JSON", help="dataset spec (inline JSON or a .json file)")
        own.add_argument("--pie-table", metavar="CSV", help="PIE table to use instead of selecting PIEs here")
        own.add_argument("--checkpoint", metavar="PT", help="model checkpoint for the weight histogram")
        own.add_argument("--hidden-truth", metavar="CSV", help="synthetic hidden truth (label_noise, quality)")
        own.add_argument(
            "--compare",
            action="store_true",
            help="cross-method report instead: --stores holds every method's stores (grouped by the method "
            "their sidecar names); writes curves, quality_cost, correlations, pie_overlap, comparison.json, PNGs",
        )
        parser.add_argument(
            "--metadata",
            metavar="CSV",
            help="per-image metadata (image id, sex, age, view, any user columns) for the subgroup section; "
            "NIH-CXR-LT and synthetic datasets find theirs without it",
        )
        parser.add_argument("--n-boot-who", type=int, default=1000, help="patient-bootstrap resamples (subgroups)")
        parser.add_argument("--n-boot-pies", type=int, default=10, help="seed resamples for PIE-set stability")
        parser.add_argument(
            "--no-who", action="store_true", help="skip the subgroup, calibration and uncertainty sections"
        )
        parser.add_argument("--out", required=True, metavar="OUTDIR", help="output folder (created)")
        parser.add_argument("--title", default="", help="experiment name used in figure legends")
        parser.add_argument("--pie-sparsity", type=float, default=0.9, help="PIEs: dense vs this sparsity")
        parser.add_argument("--pie-q", type=float, default=0.05, help="PIEs: lowest fraction (default 0.05)")
        parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples for CIs")
        parser.add_argument("--n-perm", type=int, default=999, help="Mantel permutations")
        parser.add_argument("--random-state", type=int, default=0)
        parser.add_argument(
            "--formats",
            nargs="+",
            default=["png"],
            choices=["png", "svg", "pdf"],
            help="figure formats drawn now (default png); the others are drawn from figure_data.json when "
            "first downloaded from the web page",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")

    def handle(self, *args, **o):
        paper = o["prunecxr_preds"] is not None
        if paper == (o["stores"] is not None):
            raise CommandError("Give either --prunecxr-preds (with --labels and --dataset) or --stores.")
        if paper and not (o["labels"] and o["dataset"]):
            raise CommandError("--prunecxr-preds needs --labels DIR and --dataset NAME.")
        if not paper and not o["dataset_spec"]:
            raise CommandError("--stores needs --dataset-spec (the dataset whose test labels the stores predict).")
        if o["compare"]:
            return self._compare(o)
        if not paper:
            return self._run(o, o["out"], lambda bars: self._load_stores(o, bars), " ".join(o["dataset"] or ()))
        datasets = o["dataset"]
        preds = _per_dataset(o["prunecxr_preds"], datasets, "--prunecxr-preds")
        labels = _per_dataset(o["labels"], datasets, "--labels")
        for dataset, preds_dir, labels_dir in zip(datasets, preds, labels, strict=True):
            out = o["out"] if len(datasets) == 1 else str(Path(o["out"]) / dataset)

            def load(bars, dataset=dataset, preds_dir=preds_dir, labels_dir=labels_dir):
                return load_paper_layout(
                    preds_dir,
                    labels_dir,
                    dataset,
                    pie_sparsity=o["pie_sparsity"],
                    pie_q=o["pie_q"],
                    progress=bars.phase_callback("loading"),
                    metadata_path=o["metadata"],
                )

            self._run(o, out, load, dataset)

    def _compare(self, o) -> None:
        from analysis.reports.methods import build

        if not o["stores"]:
            raise CommandError("--compare needs --stores (every method's predictions.npz files)")
        try:
            comparison = build(o["stores"], _spec(o["dataset_spec"]), o["out"], pie_q=o["pie_q"], n_boot=o["n_boot"])
        except ValueError as exc:  # AnalysisInputError and MethodError name the file or method
            raise CommandError(str(exc)) from exc
        for line in comparison.statements():
            self.stdout.write(line)
        self.stdout.write(f"cross-method report written to {o['out']}")

    def _load_stores(self, o, bars):
        return load_stores(
            o["stores"],
            _spec(o["dataset_spec"]),
            pie_table_path=o["pie_table"],
            checkpoint_path=o["checkpoint"],
            hidden_truth_path=o["hidden_truth"],
            pie_sparsity=o["pie_sparsity"],
            pie_q=o["pie_q"],
            progress=bars.phase_callback("loading"),
            metadata_path=o["metadata"],
        )

    def _run(self, o, out: str, load, dataset: str) -> None:
        """Load, compute and write one report to ``out``; then print its summary."""
        bars = TqdmProgress(getattr(self.stderr, "_out", sys.stderr), disable=o["no_progress"])
        t0 = time.perf_counter()
        try:
            inputs = load(bars)
            report = inputs.compute(
                experiment=o["title"] or dataset,
                progress=bars.phase_callback("metrics"),
                n_boot=o["n_boot"],
                n_perm=o["n_perm"],
                random_state=o["random_state"],
                n_boot_who=o["n_boot_who"],
                n_boot_pies=o["n_boot_pies"],
                who=not o["no_who"],
            )
            paths = report.write(out, formats=o["formats"])
        except ValueError as exc:  # AnalysisInputError included: the message names the file
            raise CommandError(str(exc)) from exc
        except OSError as exc:  # unwritable --out, unreadable file: the OS message names the path
            raise CommandError(f"{exc.filename or out}: {exc.strerror or exc}") from exc
        finally:
            bars.close()
        self._print_summary(report.summary, paths, out, time.perf_counter() - t0)

    def _print_summary(self, s: dict, paths, out: str, seconds: float) -> None:
        w = self.stdout.write
        w(self.style.SUCCESS(f"Wrote {len(paths)} files to {out} in {seconds:.1f} s"))
        w(
            f"{s['n_seeds']} seeds x {len(s['sparsities'])} sparsities x {s['n_images']} images x "
            f"{len(s['class_names'])} classes; dense mAP {_fmt(s['dense_map'])}; PIEs {s['n_pies']}"
        )
        for key, c in s["correlations"].items():
            label = CORRELATION_LABELS.get(key, key)
            w(
                f"  {label:<40} r={_fmt(c['r'])} (p={_fmt(c['r_p'])})  rho={_fmt(c['rho'])} "
                f"(p={_fmt(c['rho_p'])})  n={c['n']}"
            )
        who = s.get("who")
        if who:
            for section in ("subgroups", "calibration", "uncertainty"):
                w(f"{section.capitalize()}:")
                for line in who[section]["sentences"] + who[section]["footnotes"]:
                    w(f"  {line}")
            if who.get("planted"):
                w(f"  {who['planted']['sentence']}")
