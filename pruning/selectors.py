"""Reads for the pruning app: datasets and experiments."""

from django.db.models import Count, QuerySet

from jobs.models import Job
from jobs.selectors import waiting_reason, workers_queue_order
from pruning.hooks import follow_ups
from pruning.models import Dataset, Experiment, MethodSweep, PIESelection, TrainingRun


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.annotate(n_experiments=Count("experiments")).order_by("name")


def experiment_list(*, user=None, limit: int = 200) -> QuerySet[Experiment]:
    """Newest first; with `user`, only the experiments that user may see (pruning.visibility)."""
    from pruning.visibility import experiments_visible

    rows = Experiment.objects.all() if user is None else experiments_visible(user)
    return rows.select_related("dataset", "job", "created_by").order_by("-created_at", "-id")[:limit]


def experiment_page(experiment: Experiment) -> dict:
    """Everything the experiment page shows: one row per seed (train and sweep jobs), PIE selections."""
    runs = list(
        TrainingRun.objects.filter(experiment=experiment).select_related("job", "sweep", "sweep__job").order_by("seed")
    )
    selections = list(PIESelection.objects.filter(experiment=experiment).select_related("job").order_by("-id"))
    jobs = [j for r in runs for j in (r.job, r.sweep.job) if j] + [s.job for s in selections if s.job]
    follow_up_jobs, steps = [], []
    labels = {f.job_kind: f.label for f in follow_ups()}
    if experiment.job_id:
        jobs.append(experiment.job)
        follow_up_jobs = list(Job.objects.filter(parent_id=experiment.job_id, kind__in=list(labels)))
        steps.append({"label": "Whole experiment", "job": experiment.job, "done": False, "extra": ""})
    for r in runs:
        trained = f"best epoch {r.best_epoch}, val loss {r.best_val_loss:.4f}" if r.best_val_loss is not None else ""
        overall = r.sweep.achieved_sparsity
        swept = f"{r.sweep.n_done} sparsities" + (
            f", max achieved {max(v for v in overall.values() if v is not None):.3f}"
            if overall and any(v is not None for v in overall.values())
            else ""
        )
        steps.append({"label": f"Seed {r.seed} · train", "job": r.job, "done": r.is_trained, "extra": trained})
        steps.append(
            {
                "label": f"Seed {r.seed} · sweep",
                "job": r.sweep.job,
                "done": r.sweep.is_done,
                "extra": swept if r.sweep.is_done else "",
            }
        )
    others = list(
        MethodSweep.objects.filter(training_run__experiment=experiment)
        .select_related("job", "training_run")
        .order_by("method", "training_run__seed")
    )
    jobs += [m.job for m in others if m.job]
    for m in others:
        extra = f"{m.n_done} levels" if m.is_done else ""
        label = f"Seed {m.training_run.seed} · sweep {m.method}"
        steps.append({"label": label, "job": m.job, "done": m.is_done, "extra": extra})
    for s in selections:
        result = f"{s.n_pies} PIEs of {s.n_images}" if s.is_done else ""
        steps.append(
            {
                "label": f"PIE selection #{s.pk} ({s.method_name}, {s.definition}, {s.sparsity:g}, q={s.q:g})",
                "job": s.job,
                "done": s.is_done,
                "extra": result,
            }
        )
    for job in follow_up_jobs:
        steps.append({"label": labels[job.kind], "job": job, "done": False, "extra": ""})
    # The pipeline's next stages follow the experiment's own method; the others' PIEs are in the table below.
    done_selection = next((s for s in selections if s.is_done and not s.method), None)
    if experiment.source == Experiment.Source.TRAINED:
        _add_steps_to_come(steps, runs, selections, follow_up_jobs, labels)
    _explain_waiting(steps)
    return {
        "experiment": experiment,
        "steps": steps,
        "runs": runs,
        "selections": selections,
        "follow_up_jobs": follow_up_jobs,
        # The next stages: the newest finished PIE selection and the reader studies built from it.
        "done_selection": done_selection,
        "studies": studies_from_selection(done_selection) if done_selection else [],
        "n_trained": sum(r.is_trained for r in runs),
        "n_swept": sum(r.sweep.is_done for r in runs),
        "method_rows": method_rows(experiment, runs, others),
        "any_active": any(j.is_active for j in jobs + follow_up_jobs),
    }


def method_rows(experiment: Experiment, runs: list, others: list) -> list[dict]:
    """One row per compression method: its levels, seeds swept and the measured cost at its heavy level
    (measured on the first seed; see pruning.steps_methods)."""
    from pruning.engine import compress
    from pruning.engine.store import read_sidecar

    first = runs[0] if runs else None
    primary_costs = {}
    if first is not None and first.sweep.is_done:
        try:
            primary_costs = read_sidecar(first.sweep.store_path).get("costs", {})
        except (OSError, ValueError):
            primary_costs = {}
    rows = [(experiment.prune_method, experiment.sparsities, sum(r.sweep.is_done for r in runs), primary_costs)]
    for name in sorted({m.method for m in others}):
        mine = [m for m in others if m.method == name]
        costs = next((m.costs for m in mine if m.costs), {})
        rows.append((name, mine[0].levels, sum(m.is_done for m in mine), costs))
    out = []
    for name, levels, n_done, costs in rows:
        spec = compress.REGISTRY.get(name)
        heavy = spec.heavy_level if spec else None
        dense_cost = costs.get(repr(0.0), {})
        heavy_cost = costs.get(repr(float(heavy)), {}) if heavy is not None else {}
        ratio = None
        if dense_cost.get("file_bytes") and heavy_cost.get("file_bytes"):
            ratio = dense_cost["file_bytes"] / heavy_cost["file_bytes"]
        out.append(
            {
                "method": name,
                "label": spec.label if spec else name,
                "unit": spec.unit if spec else "",
                "levels": ", ".join(f"{v:g}" for v in levels),
                "n_done": n_done,
                "n_seeds": len(runs),
                "heavy": heavy,
                "heavy_cost": heavy_cost,
                "file_ratio": ratio,
            }
        )
    return out


def _add_steps_to_come(steps: list[dict], runs, selections, follow_up_jobs, labels: dict) -> None:
    """Steps whose job does not exist yet, each saying what it waits for (never a bare "0/0")."""
    for step, run in zip([s for s in steps if s["label"].endswith("· sweep")], runs, strict=True):
        if step["job"] is None and not step["done"]:
            step["waiting"] = f"after training of seed {run.seed}"
    if not selections:
        steps.append({"label": "PIE selection", "job": None, "done": False, "extra": "",
                      "waiting": "after every seed is swept"})  # fmt: skip
    if not follow_up_jobs:
        for label in labels.values():
            step = {"label": label, "job": None, "done": False, "extra": "", "waiting": "after the PIE selection"}
            steps.append(step)


def _explain_waiting(steps: list[dict]) -> None:
    """A queued step names the step it waits behind on its queue ("after seed 1 · train")."""
    names = {s["job"].pk: s["label"].lower() for s in steps if s["job"] is not None}
    queued = [s for s in steps if s["job"] is not None and s["job"].status == Job.Status.QUEUED]
    order = workers_queue_order() if queued else {}
    for step in queued:
        step["waiting"] = waiting_reason(step["job"], label=lambda ahead: names.get(ahead.pk), order=order)


def studies_from_selection(selection: PIESelection) -> list:
    """Reader studies built from `selection` (their `source` names it), newest first."""
    from readerstudy.models import Study

    return list(Study.objects.filter(source__kind="pie_selection", source__selection_id=selection.pk))
