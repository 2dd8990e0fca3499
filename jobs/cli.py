"""Command-line helpers for jobs: a tqdm progress bar, running a job tree here, following one a worker runs."""

import sys
import time

from django.core.management.base import CommandError

from jobs.execution import job_run
from jobs.models import Job


class TqdmProgress:
    """A Progress callback drawing one tqdm bar on stderr; a new total (decode, then epochs) resets it."""

    def __init__(self, desc: str, unit: str = "it"):
        from tqdm import tqdm

        self.bar = tqdm(total=0, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True)

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if total != self.bar.total:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.set_postfix_str(message[:60], refresh=False)
        self.bar.refresh()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def _tree(parent_id: int):
    return Job.objects.filter(parent_id=parent_id)


def run_tree_here(parent_id: int, write) -> str:
    """Run the queued jobs of a job tree in this process, in creation order, until the parent ends.
    A worker running meanwhile is harmless: every job is claimed atomically by exactly one runner."""
    while True:
        parent = Job.objects.get(pk=parent_id)
        if parent.status == Job.Status.QUEUED:
            job_run(job_id=parent_id)
            continue
        if not parent.is_active:
            return parent.status
        job = _tree(parent_id).filter(status=Job.Status.QUEUED).order_by("id").first()
        if job is None:
            if _tree(parent_id).filter(status=Job.Status.RUNNING).exists():
                time.sleep(0.5)  # a worker elsewhere runs a child
                continue
            return Job.objects.get(pk=parent_id).status
        with TqdmProgress(f"job #{job.pk} {job.kind} {job.params}") as bar:
            status = job_run(job_id=job.pk, echo=bar)
        write(f"job #{job.pk} {job.kind}: {status}")


def wait_for_tree(parent_id: int, timeout: float | None = None) -> str:
    """Follow a job tree a worker runs: one bar for the parent (children finished / total)."""
    deadline = time.monotonic() + timeout if timeout else None
    with TqdmProgress(f"job #{parent_id}") as bar:
        while True:
            parent = Job.objects.get(pk=parent_id)
            bar(parent.progress_done, parent.progress_total, parent.progress_message or parent.status)
            if not parent.is_active:
                return parent.status
            if deadline and time.monotonic() > deadline:
                raise CommandError(f"job #{parent_id} still {parent.status} after {timeout:g} s")
            time.sleep(1.0)
