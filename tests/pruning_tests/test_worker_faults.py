"""Fault tests 1 and 2 of issue 9: a real worker is SIGKILLed (by PID) in the middle of a pruning sweep and
in the middle of training; the reaper re-sends the job, a new worker resumes it without redoing finished
units, and the results equal an uninterrupted run with the same seed, bit for bit (CPU, one torch thread
for the tiny net in both processes).

"Not redone" is proven, not inferred: after the kill the test overwrites what the first attempt finished
with marker values; a resumed attempt keeps them, a restarted one would replace them."""

import signal
import time

import numpy as np
import pandas as pd
import pytest
import torch

from jobs import reaper, services
from jobs.models import Job
from tests.conftest import FAST_JOBS, wait_for_job, wait_until

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
MARKER = 0.25  # exactly representable in float32


def _twin_experiments(dataset, tiny_fields, **overrides):
    """Two experiments with identical settings: one runs uninterrupted here, the other on a worker we kill."""
    from pruning.services_experiments import experiment_create

    fields = tiny_fields(dataset, seeds=[0], **overrides)
    reference = experiment_create(start=False, **{**fields, "name": "uninterrupted"})
    killed = experiment_create(start=False, **{**fields, "name": "killed"})
    return reference.runs.get(), killed.runs.get()


def _kill_and_resume(fault_workers, job, first, mid_run, tamper):
    """SIGKILL ``first`` once ``mid_run()`` holds, ``tamper()`` with its finished work, let the reaper
    re-send the job to a new worker, and wait for it to succeed."""
    wait_until(mid_run, timeout=120, interval=0.005, what="the job in mid-run")
    fault_workers.signal(first, signal.SIGKILL)
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING, "killed in the middle, not after the end"
    finished = tamper()
    time.sleep(FAST_JOBS["JOBS_STALE_AFTER_SECONDS"] + 0.3)
    assert reaper.reap()["running"] == [job.pk]
    fault_workers.start("second")
    job = wait_for_job(job.pk, timeout=120)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert list(job.attempt_log.values_list("number", "outcome")) == [(1, "lost"), (2, "succeeded")]
    return finished


def test_a_worker_killed_mid_sweep_is_replaced_and_the_sweep_resumes_without_redoing_finished_sparsities(
    synthetic_dataset, tiny_fields, fault_workers
):
    from pruning.engine.store import PredictionSet
    from pruning.steps import sweep_execute, train_execute

    sparsities = [round(i / 100, 2) for i in range(100)]  # 100 units: a kill after a few lands mid-sweep
    reference, killed = _twin_experiments(synthetic_dataset, tiny_fields, sparsities=sparsities, epochs=1)
    for run in (reference, killed):
        train_execute(run=run)
    sweep_execute(sweep=reference.sweep)
    expected = PredictionSet.load(reference.sweep.store_path)

    path = killed.sweep.store_path
    first = fault_workers.start("first")
    job = services.job_create(kind="sweep", params={"sweep_id": killed.sweep.pk})

    def store_done() -> int:
        try:
            return int(PredictionSet.load(path).done.sum())
        except (ValueError, OSError):  # not written yet
            return 0

    def overwrite_finished_units():
        store = PredictionSet.load(path)
        assert 3 <= store.done.sum() < len(sparsities)
        assert np.array_equal(store.probs[store.done], expected.probs[store.done]), "attempt 1 matched so far"
        store.probs[store.done] = MARKER
        store.save(path)
        return store.done.copy()

    finished = _kill_and_resume(fault_workers, job, first, lambda: store_done() >= 3, overwrite_finished_units)
    result = PredictionSet.load(path)
    assert result.complete
    assert (result.probs[finished] == MARKER).all(), "the finished sparsities were not computed again"
    assert np.array_equal(result.probs[~finished], expected.probs[~finished]), "the rest equals the reference"
    assert result.sparsities.tolist() == expected.sparsities.tolist()


def test_a_worker_killed_mid_training_is_replaced_and_training_resumes_from_the_last_epoch_bit_exact(
    synthetic_dataset, tiny_fields, fault_workers
):
    from pruning.engine.train_parts import load_checkpoint, save_checkpoint
    from pruning.steps import train_execute

    epochs = 6
    reference, killed = _twin_experiments(synthetic_dataset, tiny_fields, epochs=epochs, patience=epochs)
    train_execute(run=reference)
    last = killed.out_dir / "last.pt"
    first = fault_workers.start("first")
    job = services.job_create(kind="train", params={"training_run_id": killed.pk})

    def checkpoint_epoch() -> int:
        try:
            return int(load_checkpoint(last)["epoch"])
        except (ValueError, OSError, KeyError):
            return 0

    def mark_finished_epochs():
        ck = load_checkpoint(last)
        assert 2 <= ck["epoch"] < epochs
        ck["history"][0]["loss"] = MARKER  # epoch 1's training loss, as the resumed run will carry it on
        save_checkpoint(ck, last)
        return ck["epoch"]

    killed_at = _kill_and_resume(fault_workers, job, first, lambda: checkpoint_epoch() >= 2, mark_finished_epochs)
    ours, theirs = (pd.read_csv(r.out_dir / "history.csv") for r in (killed, reference))
    assert ours.loc[0, "loss"] == MARKER, f"resumed from last.pt (epoch {killed_at}), not trained from scratch"
    assert ours["epoch"].tolist() == theirs["epoch"].tolist(), "no epoch trained twice"
    assert ours.iloc[1:].equals(theirs.iloc[1:]), "every other loss and metric equals the uninterrupted run"
    for name in ("best.pt", "last.pt"):
        a, b = (load_checkpoint(r.out_dir / name) for r in (killed, reference))
        assert a["epoch"] == b["epoch"] and a["best_epoch"] == b["best_epoch"]
        assert all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"]), f"{name} weights bit-exact"
    killed.refresh_from_db()
    reference.refresh_from_db()
    assert killed.is_trained and killed.best_val_loss == reference.best_val_loss
