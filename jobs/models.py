"""The Job: one unit of background work (training a seed, a sweep, a PIE selection, a report, ...).

Every app's work runs as a Job of a kind that app registers (jobs.kinds); this app knows no other app.
The table keeps the name it had when the model lived in the pruning app, so existing rows survive.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models


def stale_after() -> timedelta:
    """A RUNNING job whose heartbeat is older than this was lost with its worker (claims, the reaper and the
    worker list all use this one rule)."""
    return timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # Why the job could not be handed to the broker (it stays queued; requeue once the broker is back).
    enqueue_error = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_message = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    artifact_dir = models.CharField(max_length=500, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Fencing: every claim gives the job a new token, and every write of an attempt (progress, heartbeat,
    # result, finish, fail) only lands while the token is still its own. Empty while no attempt runs.
    attempt_token = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="Who runs the current attempt.")
    # When "run job N" was last handed to the broker (the reaper re-sends a queued job whose message is lost).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # RUNNING with no process behind it: the runner handed its work to sub-jobs (no heartbeat expected).
    waiting_for_children = models.BooleanField(default=False)

    class Meta:
        db_table = "pruning_job"  # created by pruning's first migration; jobs took the model over
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"], name="pruning_job_kind_90524a_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def kind_label(self) -> str:
        """The kind's readable name ("Train one seed"), or the raw name of a kind no app registers now."""
        from jobs.kinds import JOB_KINDS

        kind = JOB_KINDS.get(self.kind)
        return kind.label if kind else self.kind


class JobAttempt(models.Model):
    """One claim of a job by a worker, and how it ended: the history the job page and the tests read."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        SUPERSEDED = "superseded", "Superseded (a newer attempt took over)"
        WAITING = "waiting", "Handed its work to sub-jobs"
        LOST = "lost", "Lost (no heartbeat; the job was re-sent)"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    token = models.CharField(max_length=32, unique=True)
    worker = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "number", "id"]

    def __str__(self) -> str:
        return f"job #{self.job_id} attempt {self.number} ({self.outcome})"


class WorkerPresence(models.Model):
    """A Celery worker that says it is alive (a thread in the worker writes ``last_seen``)."""

    name = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
