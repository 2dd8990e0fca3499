"""The Job: one unit of background work (training a seed, a sweep, a PIE selection, a report, ...).

Every app's work runs as a Job of a kind that app registers (jobs.kinds); this app knows no other app.
The table keeps the name it had when the model lived in the pruning app, so existing rows survive.
"""

from django.conf import settings
from django.db import models


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
