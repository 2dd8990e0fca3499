"""The demo chain behind ``make demo`` and ``manage.py demo --here`` (sized by ``DEMO_SCALE``).

    1 dataset      render the synthetic CXR-LT (a make_synthetic job)
    2 experiment   train and prune every seed, select PIEs, write the report (the experiment's job tree);
                   the same seeds are also quantized to int8 (the scale's ``compare`` methods)
    2b methods     the cross-method comparison of those sweeps (a methods_report job)
    3 study        build the default reader study from the PIE selection and open it
    4 readers      assign it to the demo readers; simulated readers fill forms (answers marked simulated)
    5 statistics   the perception statistics of those answers

Every stage first looks for what an earlier run left (same dataset name, experiment name, study source)
and reuses it, so running the demo again costs seconds. With a worker (``make demo``) the jobs run
there and this module follows them, printing progress; with ``here=True`` it runs them in this process.
The chain lives in the analysis app because it is the one app allowed to reach all the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from analysis.demo_scales import DemoScale
from jobs.models import Job

Write = Callable[[str], None]


class DemoStageError(RuntimeError):
    """A stage of the chain failed; the message names it and says why."""


@dataclass
class DemoRun:
    scale: DemoScale
    here: bool
    write: Write
    poll_seconds: float = 1.0
    progress: Write | None = None  # where job progress lines go (default: `write`); stage lines always `write`
    timings: dict[str, float] = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    # --- following jobs ---------------------------------------------------------------------------

    def run_job(self, job_id: int) -> str:
        if self.here:
            from jobs.cli import TqdmProgress
            from jobs.execution import job_run

            job = Job.objects.get(pk=job_id)
            with TqdmProgress(f"job #{job_id} {job.kind}") as bar:
                return job_run(job_id=job_id, echo=bar)
        return self._follow(job_id)

    def run_tree(self, parent_id: int) -> str:
        if self.here:
            from jobs.cli import run_tree_here

            return run_tree_here(parent_id, self.write)
        return self._follow(parent_id)

    def _follow(self, job_id: int) -> str:
        """Wait for a job a worker runs, printing its (and its running children's) progress when it changes."""
        last = None
        while True:
            job = Job.objects.get(pk=job_id)
            running = Job.objects.filter(parent_id=job_id, status=Job.Status.RUNNING).order_by("id").first()
            line = f"  job #{job.pk} {job.kind}: {job.status} {job.progress_done}/{job.progress_total}"
            if job.progress_message:
                line += f" ({job.progress_message})"
            if running is not None:
                line += f"; #{running.pk} {running.kind}: {running.progress_done}/{running.progress_total}"
                line += f" {running.progress_message}"
            if line != last:
                (self.progress or self.write)(line)
                last = line
            if not job.is_active:
                return job.status
            time.sleep(self.poll_seconds)


def _admin():
    return get_user_model().objects.get(username="admin")


def _must_succeed(status: str, job_id: int, what: str) -> None:
    if status != Job.Status.SUCCEEDED:
        error = Job.objects.filter(pk=job_id).values_list("error", flat=True).first() or ""
        raise DemoStageError(f"{what}: job #{job_id} {status}. {error.strip().splitlines()[0] if error else ''}")


# --- the stages -----------------------------------------------------------------------------------


def stage_dataset(run: DemoRun) -> str:
    from pruning.models import Dataset
    from pruning.services_datasets import dataset_make_synthetic_start, synthetic_default_dir
    from pruning.steps import synthetic_is_rendered

    s = run.scale
    out = synthetic_default_dir(s.dataset_name)
    dataset = Dataset.objects.filter(name=s.dataset_name).first()
    if dataset and synthetic_is_rendered(out, s.n_images, s.render_size, 0, s.fractions):
        run.objects["dataset"] = dataset
        return f"reused dataset {dataset.name!r} ({dataset.n_train}/{dataset.n_val}/{dataset.n_test} images)"
    job = dataset_make_synthetic_start(
        name=s.dataset_name, n=s.n_images, size=s.render_size, fractions=s.fractions, replace=True, user=_admin()
    )
    run.write(f"  rendering {s.n_images} images at {s.render_size} px (job #{job.pk})")
    _must_succeed(run.run_job(job.pk), job.pk, "rendering the synthetic dataset")
    dataset = Dataset.objects.get(name=s.dataset_name)
    run.objects["dataset"] = dataset
    return f"dataset {dataset.name!r}: {dataset.n_train}/{dataset.n_val}/{dataset.n_test} train/val/test images"


def stage_experiment(run: DemoRun) -> str:
    """Train, prune, select PIEs and write the report: one experiment job tree (the report is its child)."""
    from pruning.models import Experiment, PIESelection
    from pruning.services_experiments import experiment_create, experiment_start

    fields = run.scale.experiment_fields()
    dataset = run.objects["dataset"]
    # Only an experiment started after the dataset was last (re-)rendered: a newer generator or render size
    # re-renders the same dataset in place, and an older experiment's PIEs describe pixels that are gone.
    experiments = Experiment.objects.filter(dataset=dataset, name=fields["name"])
    if dataset.validated_at is not None:
        experiments = experiments.filter(created_at__gte=dataset.validated_at)
    experiment = experiments.order_by("id").last()
    if experiment is None:
        experiment = experiment_create(user=_admin(), dataset=dataset, **fields)
        run.write(f"  queued experiment #{experiment.pk} (job #{experiment.job_id})")
    elif experiment.job is None or experiment.job.status != Job.Status.SUCCEEDED:
        experiment_start(experiment=experiment, user=_admin())  # resumes a failed or cancelled pipeline
        experiment.refresh_from_db()
    run.objects["experiment"] = experiment
    if experiment.job.status != Job.Status.SUCCEEDED:
        _must_succeed(run.run_tree(experiment.job_id), experiment.job_id, "the experiment")
    experiment.refresh_from_db()
    selection = PIESelection.objects.of_experiment(experiment).finished().first()
    report = experiment.reports.order_by("-id").first() if hasattr(experiment, "reports") else None
    if selection is None:
        raise DemoStageError(f"experiment #{experiment.pk} finished without a PIE selection")
    run.objects.update(selection=selection, report=report)
    diagnostics = (selection.summary or {}).get("diagnostics") or {}
    if diagnostics.get("dominance_warning"):
        run.write(f"  warning: {diagnostics['dominance_warning']}")
    if diagnostics.get("jaccard_mean") is not None:
        run.write(f"  leave-one-seed-out Jaccard of the PIE set: mean {diagnostics['jaccard_mean']:.2f}")
    return f"experiment #{experiment.pk}: {selection.n_pies} PIEs of {selection.n_images} test images" + (
        f", report #{report.pk}" if report else ""
    )


def stage_methods(run: DemoRun) -> str:
    """The cross-method comparison page of the experiment (pruning vs the scale's compared methods)."""
    from django.db import transaction

    from analysis.reports import methods
    from analysis.reports.views_methods import JOB_KIND
    from jobs.services import job_create

    experiment = run.objects["experiment"]
    if not experiment.compare_methods:
        return "no compared methods at this scale"
    summary = methods.experiment_summary(experiment)
    if summary is None:
        with transaction.atomic():
            job = job_create(kind=JOB_KIND, params={"experiment_id": experiment.pk}, user=_admin())
        _must_succeed(run.run_job(job.pk), job.pk, "the cross-method comparison")
        summary = methods.experiment_summary(experiment) or {}
    for line in summary.get("statements", []):
        run.write(f"  {line}")
    return (
        f"comparison of {len(summary.get('correlations', []))} methods: /reports/experiments/{experiment.pk}/methods/"
    )


DEMO_STUDY_TITLE = "Demo study: PIEs and non-PIEs of {dataset}"


def stage_study(run: DemoRun) -> str:
    from pruning.readerstudy_source import selection_candidates
    from readerstudy.builder import study_create_from_candidates
    from readerstudy.design import DesignError
    from readerstudy.models import Study
    from readerstudy.services import study_open

    s, selection = run.scale, run.objects["selection"]
    existing = [st for st in Study.objects.order_by("id") if (st.source or {}).get("selection_id") == selection.pk]
    if existing:
        run.objects["study"] = existing[0]
        return f"reused study #{existing[0].pk} ({existing[0].cases.count()} cases)"
    candidates, source = selection_candidates(str(selection.pk))
    pies = sorted((c for c in candidates if c.is_pie), key=lambda c: c.correlation if c.correlation is not None else 0)
    nons = sorted((c for c in candidates if not c.is_pie), key=lambda c: -(c.correlation or 0))
    # Anchors: the clearest PIE (lowest correlation) and the clearest non-PIE, read by every reader.
    anchors = [c.source_image_id for c in pies[: s.anchors[0]]] + [c.source_image_id for c in nons[: s.anchors[1]]]
    try:
        study = study_create_from_candidates(
            title=DEMO_STUDY_TITLE.format(dataset=selection.experiment.dataset.name),
            candidates=candidates,
            n_forms=s.n_forms,
            cases_per_form=s.cases_per_form,
            pie_fraction=s.pie_fraction,
            anchor_ids=anchors,
            repeat_cases=s.repeat_cases,
            seed=0,
            created_by=_admin(),
            source=source,
        )
    except DesignError as exc:
        raise DemoStageError(f"building the study: {exc}") from None
    study_open(study=study)
    run.objects["study"] = study
    per_form = study.design["pies_per_form"]
    return f"study #{study.pk}: {s.n_forms} forms x {s.cases_per_form} cases ({per_form} PIEs each), opened"


def stage_readers(run: DemoRun) -> str:
    """The demo readers get forms of their own; simulated readers fill other forms (answers flagged); the
    demo researcher becomes a collaborator (researchers see only the studies they own or are granted)."""
    from readerstudy.models import Assignment
    from readerstudy.services import assignment_create, study_grant

    study = run.objects["study"]
    for researcher in get_user_model().objects.filter(username="researcher"):
        study_grant(study=study, user=researcher)
    users = get_user_model().objects.filter(username__in=["reader1", "reader2"]).order_by("username")
    assigned = []
    for reader in users:
        if not Assignment.objects.filter(study=study, reader=reader).exists():
            assignment_create(study=study, reader=reader)
        assigned.append(reader.username)
    simulated = simulate(run, study)
    return f"forms assigned to {', '.join(assigned)}; {simulated}"


def simulate(run: DemoRun, study) -> str:
    from analysis.perception.simulation import study_simulate_readers
    from readerstudy.models import Answer

    if Answer.objects.filter(assignment__study=study, simulated=True).exists():
        return "reused the simulated readers' answers"
    from readerstudy.counts import study_counts

    result = study_simulate_readers(study=study, n_readers=run.scale.simulated_readers, seed=0)
    c = study_counts(study=study)  # the dashboard's and the statistics' definitions
    return (
        f"{result.n_readers} simulated readers gave {c.answers} answers to {c.cases} cases and "
        f"{c.repeat_answers} to hidden repeats ({c.repeat_pairs} repeat pairs), marked simulated"
    )


def stage_statistics(run: DemoRun) -> str:
    """The perception statistics of the study's answers (a job; cached while the answers do not change)."""
    from analysis.perception.services import perception_request

    study = run.objects["study"]
    stats = perception_request(study=study, user=_admin())
    if stats.job_id and stats.job.status != Job.Status.SUCCEEDED:
        _must_succeed(run.run_job(stats.job_id), stats.job_id, "the perception statistics")
    stats.refresh_from_db()
    summary = stats.summary or {}
    return (
        f"statistics of study #{study.pk}: {summary.get('n_answers', 0)} answers, "
        f"{summary.get('n_repeat_pairs', 0)} repeat pairs ({stats.stage} part)"
    )


STAGES: list[tuple[str, Callable[[DemoRun], str]]] = [
    ("dataset", stage_dataset),
    ("train, prune, PIEs, report", stage_experiment),
    ("methods compared", stage_methods),
    ("reader study", stage_study),
    ("readers", stage_readers),
    ("statistics", stage_statistics),
]


def run_demo(run: DemoRun) -> DemoRun:
    """Every stage in order, timing each; the first failure raises DemoStageError naming its stage."""
    total = time.perf_counter()
    for i, (name, stage) in enumerate(STAGES, start=1):
        run.write(f"[{i}/{len(STAGES)}] {name} ...")
        t0 = time.perf_counter()
        try:
            summary = stage(run)
        except DemoStageError as exc:
            raise DemoStageError(f"stage {i} ({name}) failed: {exc}") from None
        except Exception as exc:
            raise DemoStageError(f"stage {i} ({name}) failed: {type(exc).__name__}: {exc}") from exc
        run.timings[name] = time.perf_counter() - t0
        run.write(f"[{i}/{len(STAGES)}] {name}: {summary} ({run.timings[name]:.0f} s)")
    run.timings["total"] = time.perf_counter() - total
    return run


def artifact_root() -> Path:
    return Path(settings.ARTIFACT_ROOT)
