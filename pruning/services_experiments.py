"""Writes for experiments: create one, and advance its pipeline of jobs.

    experiment (parent, coordinates only)
      ├─ train seed s      (one per seed, gpu queue)   -> on success: sweep seed s
      ├─ sweep seed s      (one per seed, gpu queue)   -> when every seed is swept: select_pies
      ├─ select_pies       (default queue)             -> then every registered follow-up
      └─ follow-ups        (pruning.hooks: the analysis app registers its report there)

``experiment_advance`` is the one place that decides what comes next. It reads the state of the
rows (trained? swept? selected?), creates the missing jobs, updates the parent's progress and
finishes the parent. It is idempotent and runs under a row lock on the experiment, so it is safe
to call from every child's completion hook, from the parent's own runner (start and retry), and
twice in a row. Children are created inside the transaction and enqueued on commit.
"""

import contextlib
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from common.sparsity import swept
from config.roles import actor
from jobs.models import Job
from jobs.services import job_create, job_requeue
from pruning import kinds, params
from pruning.hooks import follow_ups
from pruning.models import Experiment, MethodSweep, PIESelection, PruningSweep, TrainingRun

log = logging.getLogger(__name__)
RETRYABLE = (Job.Status.FAILED, Job.Status.CANCELLED)


def experiment_create(*, user=None, start: bool = True, **fields) -> Experiment:
    """Validate and save an experiment with one TrainingRun and PruningSweep row per seed; with
    ``start`` queue its parent job (which fans out the rest)."""
    with transaction.atomic():
        experiment = Experiment(created_by=actor(user), **fields)
        experiment.seeds = sorted(int(s) for s in experiment.seeds)
        # Levels as floats, defaults filled in; a bad entry is reported by full_clean below.
        with contextlib.suppress(params.ParamError):
            experiment.compare_methods = params.check_compare(experiment.compare_methods or [], experiment.prune_method)
            swept_methods = [experiment.prune_method, *(e["method"] for e in experiment.compare_methods)]
            experiment.method_params = params.check_method_params(experiment.method_params or {}, swept_methods)
        experiment.full_clean()
        experiment.save()
        claim_artifact_dir(experiment)
        for seed in experiment.seeds:
            run = TrainingRun.objects.create(experiment=experiment, seed=seed)
            PruningSweep.objects.create(training_run=run, predictions_path=str(run.out_dir / "predictions.npz"))
            for entry in experiment.compare_methods:
                sweep = MethodSweep(training_run=run, method=entry["method"], levels=entry["levels"])
                sweep.predictions_path = str(sweep.store_path)
                sweep.save()
        if start:
            experiment_start(experiment=experiment, user=user)
    return experiment


def claim_artifact_dir(experiment: Experiment) -> None:
    """Give a new experiment a folder of its own. ``experiments/<id>`` normally; if that folder exists
    (left by an earlier database with the same ids) a random suffix is added, because the steps resume
    from whatever files they find there."""
    import secrets

    if experiment.artifact_dir.exists():
        experiment.artifact_key = f"{experiment.pk}-{secrets.token_hex(4)}"
        log.warning(
            "%s exists (from an earlier database?); experiment %s uses %s",
            experiment.artifact_dir,
            experiment.pk,
            experiment.artifact_key,
        )
        Experiment.objects.filter(pk=experiment.pk).update(artifact_key=experiment.artifact_key)
    experiment.artifact_dir.mkdir(parents=True, exist_ok=False)


def experiment_start(*, experiment: Experiment, user=None) -> Job:
    """Queue the parent job; a second call while it is active returns the active one."""
    with transaction.atomic():
        locked = Experiment.objects.select_for_update(of=("self",)).select_related("job").get(pk=experiment.pk)
        if locked.job_id and locked.job.is_active:
            experiment.job = locked.job
            return locked.job
        job = job_create(
            kind=kinds.EXPERIMENT,
            params={"experiment_id": experiment.pk},
            user=user,
            artifact_dir=str(experiment.artifact_dir),
        )
        Experiment.objects.filter(pk=experiment.pk).update(job=job)
        experiment.job = job
    return job


def on_child_finished(parent: Job, child: Job) -> None:
    """Hook of the "experiment" job kind: a child ended, so move the pipeline on."""
    experiment_advance(experiment_id=parent.params["experiment_id"])


def _ensure_job(obj, kind: str, params: dict, parent: Job | None, retry: bool) -> None:
    """Give ``obj`` (a run, sweep or selection) a job of ``kind``; with ``retry`` requeue a failed or
    cancelled one (resumable runners pick up where it stopped)."""
    job = obj.job
    if job is None or (retry and job.status == Job.Status.SUCCEEDED):
        # No job yet, or one that succeeded although its result is missing (files removed): a new one.
        obj.job = job_create(kind=kind, params=params, parent=parent, user=parent.created_by if parent else None)
        type(obj).objects.filter(pk=obj.pk).update(job=obj.job)
    elif retry and job.status in RETRYABLE:
        job_requeue(job_id=job.pk)
        job.refresh_from_db()


def experiment_advance(*, experiment_id: int, retry: bool = False) -> dict:
    """Create the jobs the pipeline needs next and bring the parent job up to date. Returns the state.

    ``retry`` (the parent job was started or retried) also requeues failed or cancelled children.
    Nothing moves on while the parent job is cancelled.
    """
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update(of=("self",)).select_related("job").get(pk=experiment_id)
        parent = experiment.job
        if parent is not None and parent.status == Job.Status.CANCELLED and not retry:
            return _state(experiment)
        runs = list(TrainingRun.objects.filter(experiment=experiment).select_related("job", "sweep", "sweep__job"))
        for run in runs:
            if not run.is_trained:
                _ensure_job(run, kinds.TRAIN, {"training_run_id": run.pk}, parent, retry)
            else:
                if not run.sweep.is_done:
                    _ensure_job(run.sweep, kinds.SWEEP, {"sweep_id": run.sweep.pk}, parent, retry)
                for other in run.method_sweeps.filter(finished_at__isnull=True).select_related("job"):
                    _ensure_job(other, kinds.METHOD_SWEEP, {"sweep_id": other.pk}, parent, retry)
        if runs and all(run.sweep.is_done for run in runs):
            selection = pie_selection_for(experiment)
            if not selection.is_done:
                _ensure_job(selection, kinds.SELECT_PIES, {"selection_id": selection.pk}, parent, retry)
            elif experiment.follow_ups_requested_at is None:
                _request_follow_ups(experiment, parent)
        for method in _methods_swept(experiment):
            chosen = pie_selection_for(experiment, method)
            if not chosen.is_done:
                _ensure_job(chosen, kinds.SELECT_PIES, {"selection_id": chosen.pk}, parent, retry)
        state = _state(experiment)
        if parent is not None:
            _update_parent(parent, state)
    return state


def _methods_swept(experiment: Experiment) -> list[str]:
    """The compared methods whose sweeps have finished on every seed (their PIEs can be selected)."""
    sweeps = MethodSweep.objects.filter(training_run__experiment=experiment)
    methods = {e["method"] for e in experiment.compare_methods}
    unfinished = set(sweeps.filter(finished_at__isnull=True).values_list("method", flat=True))
    return sorted(m for m in methods - unfinished if sweeps.filter(method=m).exists())


def _method_selections(experiment: Experiment) -> list[PIESelection | None]:
    """Per compared method, its PIE selection at its heavy level (None until its sweeps have finished)."""
    from pruning.engine import compress  # torch-free registry

    return [
        PIESelection.objects.of_experiment(
            experiment, sparsity=compress.get(e["method"]).heavy_level, method=e["method"]
        )
        .select_related("job")
        .first()
        for e in experiment.compare_methods
    ]


def pie_selection_for(experiment: Experiment, method: str = "") -> PIESelection:
    """The PIE selection of the experiment's own sweep (its pie_sparsity, pie_q, pie_definition), or of a compared
    ``method``'s sweeps at that method's heavily-compressed level (same q and definition), made when missing."""
    if not method:
        return pie_selection_get_or_create(experiment=experiment)
    from pruning.engine import compress  # torch-free registry

    heavy = compress.get(method).heavy_level
    return pie_selection_get_or_create(experiment=experiment, sparsity=heavy, method=method)


def pie_selection_get_or_create(
    *,
    experiment: Experiment,
    sparsity: float | None = None,
    q: float | None = None,
    definition: str = "",
    method: str = "",
) -> PIESelection:
    """The experiment's PIE selection at these settings (its own by default), created (validated) when missing.

    Under a lock on the experiment row: concurrent callers run one after the other, so they can neither both
    create the selection (IntegrityError) nor both see "no job" and start two (the caller's transaction keeps
    the lock until it commits)."""
    with transaction.atomic():
        Experiment.objects.select_for_update().filter(pk=experiment.pk).first()
        selection = PIESelection.objects.of_experiment(
            experiment, sparsity=sparsity, q=q, definition=definition, method=method
        ).first()
        if selection is None:
            selection = PIESelection(
                experiment=experiment,
                method=method,
                sparsity=experiment.pie_sparsity if sparsity is None else sparsity,
                q=experiment.pie_q if q is None else q,
                definition=definition or experiment.pie_definition,
            )
            selection.full_clean()
            selection.save()
    return selection


def _request_follow_ups(experiment: Experiment, parent: Job | None) -> None:
    """Start every registered follow-up once (none registered: the pipeline ends with the PIEs)."""
    user = (parent.created_by if parent else None) or experiment.created_by
    for follow_up in follow_ups():
        made = follow_up.start(experiment=experiment, user=user)
        job = made if isinstance(made, Job) else getattr(made, "job", None)
        if isinstance(job, Job) and parent is not None and job.parent_id is None:
            # Under the experiment job, so its end moves the pipeline on and a cancel stops it too.
            Job.objects.filter(pk=job.pk).update(parent=parent)
    now = timezone.now()
    Experiment.objects.filter(pk=experiment.pk).update(follow_ups_requested_at=now)
    experiment.follow_ups_requested_at = now


def _state(experiment: Experiment) -> dict:
    """Counts of finished steps, active and blocking (failed/cancelled) jobs of the pipeline."""
    runs = list(TrainingRun.objects.filter(experiment=experiment).select_related("job", "sweep__job"))
    selection = PIESelection.objects.of_experiment(experiment).select_related("job").first()
    jobs = [r.job for r in runs] + [r.sweep.job for r in runs] + [selection.job if selection else None]
    others = list(MethodSweep.objects.filter(training_run__experiment=experiment).select_related("job"))
    jobs += [m.job for m in others]
    method_pies = _method_selections(experiment)
    jobs += [s.job for s in method_pies if s is not None]
    parent = experiment.job
    extra = follow_ups()
    follow_up_jobs = []
    if parent is not None and extra:
        follow_up_jobs = list(Job.objects.filter(parent=parent, kind__in=[f.job_kind for f in extra]))
    jobs = [j for j in jobs + follow_up_jobs if j is not None]
    trained = sum(r.is_trained for r in runs)
    swept = sum(r.sweep.is_done for r in runs)
    selected = int(bool(selection and selection.is_done))
    followed_up = bool(experiment.follow_ups_requested_at) and all(
        j.status == Job.Status.SUCCEEDED for j in follow_up_jobs
    )
    blocking = [j for j in jobs if j.status in RETRYABLE]
    others_done = sum(m.is_done for m in others) + sum(bool(s and s.is_done) for s in method_pies)
    n_others = len(others) + len(method_pies)
    complete = trained == swept == len(runs) > 0 and selected and (followed_up or not extra) and others_done == n_others
    return {
        "seeds": len(runs),
        "trained": trained,
        "swept": swept,
        "pies_selected": bool(selected),
        "follow_ups_requested": bool(experiment.follow_ups_requested_at),
        "method_sweeps": f"{sum(m.is_done for m in others)}/{len(others)}",
        "done": trained + swept + others_done + selected + (len(extra) if extra and followed_up else 0),
        "total": 2 * len(runs) + n_others + 1 + len(extra),
        "active": sum(j.is_active for j in jobs),
        "blocking": [
            f"{j.kind} job #{j.pk} {j.status}" + (f": {j.error.splitlines()[0]}" if j.error else "") for j in blocking
        ],
        "complete": bool(complete),
        "selection_id": selection.pk if selection else None,
    }


def _update_parent(parent: Job, state: dict) -> None:
    message = f"{state['trained']}/{state['seeds']} seeds trained, {state['swept']}/{state['seeds']} swept"
    message += ", PIEs selected" if state["pies_selected"] else ""
    now = timezone.now()
    fields = {"progress_done": state["done"], "progress_total": state["total"], "heartbeat_at": now}
    live = Job.objects.filter(pk=parent.pk, status__in=(Job.Status.RUNNING, Job.Status.FAILED))
    if state["complete"] and not state["active"]:
        # FAILED too: a child retried on its own may complete a pipeline whose parent had given up.
        live.update(
            status=Job.Status.SUCCEEDED,
            finished_at=now,
            error="",
            progress_message="done",
            result={k: v for k, v in state.items() if k != "blocking"},
            **fields,
        )
    elif not state["active"]:
        # Nothing runs and the pipeline is not complete: a child failed or was cancelled (or, should a
        # result file have gone missing, nothing is left to run). Retrying the parent resumes it.
        why = "; ".join(state["blocking"]) or "no step is running although the pipeline is unfinished"
        error = f"Stopped: {why}. Retry this job to resume."
        live.filter(status=Job.Status.RUNNING).update(
            status=Job.Status.FAILED, finished_at=now, error=error, progress_message=message, **fields
        )
    else:
        Job.objects.filter(pk=parent.pk).update(progress_message=message[:255], **fields)


def pie_selection_start(
    *, experiment: Experiment, sparsity: float, q: float, definition: str, user=None
) -> PIESelection:
    """Another PIE selection of a finished experiment (other sparsity, q or definition) as a job."""
    if not swept(experiment.sparsities, sparsity):
        raise ValidationError(
            {"sparsity": f"sparsity {sparsity:g} was not swept; choose one of {experiment.sparsities}"}
        )
    with transaction.atomic():
        # The lock pie_selection_get_or_create takes on the experiment row lasts until this block commits.
        selection = pie_selection_get_or_create(experiment=experiment, sparsity=sparsity, q=q, definition=definition)
        if not selection.is_done and (selection.job is None or selection.job.status in RETRYABLE):
            job = job_create(kind=kinds.SELECT_PIES, params={"selection_id": selection.pk}, user=user)
            PIESelection.objects.filter(pk=selection.pk).update(job=job)
            selection.job = job
    return selection
