"""Analysis app models. A Report is one forgettability + PIE analysis (Figs 1-5): its inputs, the job
that computes it, and the folder its tables, figures and summary.json are written to."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from jobs.models import Job


class Report(models.Model):
    class Source(models.TextChoices):
        EXPERIMENT = "experiment", "Experiment (its sweep's prediction stores)"
        PRUNECXR = "prunecxr", "Paper's released layout (PruneCXR .pkl files)"
        STORES = "stores", "Prediction stores"

    title = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=Source.choices)
    experiment = models.ForeignKey(
        "pruning.Experiment", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    # source "stores" / "experiment": one predictions.npz per seed + the dataset spec for the labels.
    prediction_paths = models.JSONField(default=list, blank=True)
    dataset_spec = models.JSONField(default=dict, blank=True)
    pie_table_path = models.CharField(max_length=500, blank=True)
    # The pruning selection the PIE table came from (source "experiment"): its summary (cutoff, tie group,
    # NaN count) travels with the table into the report.
    pie_selection = models.ForeignKey(
        "pruning.PIESelection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checkpoint_path = models.CharField(max_length=500, blank=True)
    # source "prunecxr": the paper's prediction folder, its label folder and the dataset name.
    prunecxr_dir = models.CharField(max_length=500, blank=True)
    labels_dir = models.CharField(max_length=500, blank=True)
    dataset_name = models.CharField(max_length=64, blank=True)

    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="analysis_reports")
    out_dir = models.CharField(max_length=500, blank=True)  # ARTIFACT_ROOT/reports/<id>
    # A copy of summary.json, so list pages and comparisons need no file reads.
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Report #{self.pk}: {self.title}"

    def clean(self) -> None:
        if self.source == self.Source.PRUNECXR:
            missing = [f for f in ("prunecxr_dir", "labels_dir", "dataset_name") if not getattr(self, f)]
            if missing:
                raise ValidationError({f: "Required for the paper's layout." for f in missing})
        elif self.source in (self.Source.STORES, self.Source.EXPERIMENT):
            if not self.prediction_paths:
                raise ValidationError({"prediction_paths": "At least one prediction store is required."})
            if not self.dataset_spec:
                raise ValidationError({"dataset_spec": "A dataset spec is required for the labels."})
        if self.source == self.Source.EXPERIMENT and self.experiment_id is None:
            raise ValidationError({"experiment": "Required for an experiment report."})

    @property
    def out_path(self) -> Path | None:
        return Path(self.out_dir) if self.out_dir else None

    @property
    def is_ready(self) -> bool:
        """Outputs exist (a rerun keeps the previous outputs visible until the new ones replace them)."""
        return bool(self.summary)

    @property
    def dataset_label(self) -> str:
        if self.dataset_name:
            return self.dataset_name
        return str(self.dataset_spec.get("kind", "")) if isinstance(self.dataset_spec, dict) else ""


class PerceptionStats(models.Model):
    """The perception statistics of one study, cached for one state of its answers.

    `state` fingerprints the answers the numbers were computed from (analysis.perception.inputs); when the
    answers change, the page asks for a new job. `stage` is "fast" (tables, models, figures) once the fast
    part is written and "full" once the ordinal bootstrap CIs are in. `summary` is summary.json.
    """

    study = models.OneToOneField("readerstudy.Study", on_delete=models.CASCADE, related_name="perception_stats")
    state = models.CharField(max_length=32, blank=True)
    stage = models.CharField(max_length=8, blank=True)
    out_dir = models.CharField(max_length=500, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="perception_stats")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "perception statistics"

    def __str__(self) -> str:
        return f"Perception statistics of study {self.study_id} ({self.stage or 'not computed'})"

    @property
    def out_path(self) -> Path | None:
        return Path(self.out_dir) if self.out_dir else None
