"""Pruning app models: datasets, experiments, training runs, sweeps and PIE selections. The work each
step does runs as a jobs.Job."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from common.sparsity import TOLERANCE
from jobs.models import Job
from pruning import params
from pruning.engine import compress

# --- Datasets and experiments ---------------------------------------------------------------------
# Results (checkpoints, prediction stores, PIE tables) live on disk under ARTIFACT_ROOT; these rows say
# where, and which job made them. Anything whose deletion would orphan results is PROTECTed; jobs are
# SET_NULL so old jobs can be cleaned up without touching results.


def _artifact_root() -> Path:
    return Path(settings.ARTIFACT_ROOT)


class Dataset(models.Model):
    class Kind(models.TextChoices):
        SYNTHETIC = "synthetic", "Synthetic CXR-LT"
        NIH = "nih-cxr-lt", "NIH-CXR-LT (paper label CSVs)"
        MIMIC = "mimic-cxr-lt", "MIMIC-CXR-LT (paper label CSVs)"
        CSV = "csv", "Label CSVs + image folder"

    name = models.SlugField(max_length=100, unique=True, help_text="Letters, digits, - and _.")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The dict pruning.engine.spec.load_splits reads: {"kind": ..., paths ...}.
    spec = models.JSONField()
    class_names = models.JSONField(default=list, blank=True)
    n_train = models.PositiveIntegerField(default=0)
    n_val = models.PositiveIntegerField(default=0)
    n_test = models.PositiveIntegerField(default=0)
    validated_at = models.DateTimeField(null=True, blank=True)
    images_checked = models.BooleanField(default=True, help_text="Every image was opened during validation.")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.spec, dict) or self.spec.get("kind") != self.kind:
            raise ValidationError({"spec": f"spec must be a dict whose 'kind' is {self.kind!r}"})

    @property
    def n_images(self) -> int:
        return self.n_train + self.n_val + self.n_test


class Experiment(models.Model):
    """One dataset, one architecture and recipe, several seeds: train -> sweep -> PIEs (-> report)."""

    class Arch(models.TextChoices):
        RESNET50 = "resnet50", "ResNet50 (paper)"
        RESNET18 = "resnet18", "ResNet18"
        SMALL = "small", "Small CNN (CPU demo)"
        TINY = "tiny", "Tiny net (tests)"

    class Method(models.TextChoices):
        L1 = "l1", "Global unstructured L1 magnitude (paper)"
        RANDOM = "random", "Global unstructured random"

    class PieDefinition(models.TextChoices):
        SPEARMAN = "spearman", "Spearman dense vs pruned, lowest q (paper)"
        HOOKER = "hooker", "Modal label set differs (Hooker et al.)"

    class Source(models.TextChoices):
        TRAINED = "trained", "Trained here"
        IMPORTED = "imported", "Imported predictions"

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="experiments")
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.TRAINED)
    arch = models.CharField(max_length=32, choices=Arch.choices, default=Arch.RESNET50)
    init = models.CharField(max_length=500, default="imagenet", help_text="imagenet, random or a weights file path")
    seeds = models.JSONField(default=list)
    epochs = models.PositiveIntegerField(default=60)
    batch_size = models.PositiveIntegerField(default=256)
    lr = models.FloatField(default=1e-4)
    patience = models.PositiveIntegerField(default=15)
    image_size = models.PositiveIntegerField(default=256)
    # Any registered compression method (pruning.engine.compress); ``sparsities`` are its levels.
    prune_method = models.CharField(
        max_length=16, choices=[(n, s.label) for n, s in compress.REGISTRY.items()], default=Method.L1
    )
    # More methods swept on the same trained seeds, for the cross-method report:
    # [{"method": "int8_static", "levels": [0.0, 0.75]}, ...] (one MethodSweep per seed and method).
    compare_methods = models.JSONField(default=list, blank=True)
    # Parameters of the methods that have some, for whichever sweep uses the method (own or compared):
    # {"imp": {"finetune_epochs": 1, "rewind": false}}; missing ones take the registry's defaults.
    method_params = models.JSONField(default=dict, blank=True)
    sparsities = models.JSONField(default=params.default_sparsities)
    pie_sparsity = models.FloatField(default=0.9)
    pie_q = models.FloatField(default=0.05)
    pie_definition = models.CharField(max_length=16, choices=PieDefinition.choices, default=PieDefinition.SPEARMAN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Set once the registered follow-ups (the analysis app's report) were asked for, so advancing the
    # pipeline twice asks once.
    follow_ups_requested_at = models.DateTimeField(null=True, blank=True)
    # Folder name under ARTIFACT_ROOT/experiments: the id, unless a folder of that name was left by an
    # earlier database (then "<id>-<random>"), so a new experiment never resumes from someone else's files.
    artifact_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(lr__gt=0), name="pruning_experiment_lr_positive"),
            models.CheckConstraint(condition=Q(batch_size__gte=1), name="pruning_experiment_batch_size_positive"),
            models.CheckConstraint(condition=Q(image_size__gte=8), name="pruning_experiment_image_size_min"),
            models.CheckConstraint(condition=Q(pie_q__gt=0, pie_q__lte=1), name="pruning_experiment_pie_q_range"),
            models.CheckConstraint(
                condition=Q(pie_sparsity__gte=0, pie_sparsity__lt=1), name="pruning_experiment_pie_sparsity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    def clean(self) -> None:
        errors = params.check_experiment(
            seeds=self.seeds if isinstance(self.seeds, list) else [],
            sparsities=self.sparsities if isinstance(self.sparsities, list) else [],
            pie_sparsity=self.pie_sparsity,
            pie_q=self.pie_q,
            arch=self.arch,
            init=self.init if self.source == self.Source.TRAINED else "random",
            prune_method=self.prune_method,
            compare_methods=self.compare_methods,
            method_params=self.method_params,
        )
        if not isinstance(self.seeds, list):
            errors["seeds"] = "seeds must be a list of integers"
        if not isinstance(self.sparsities, list):
            errors["sparsities"] = "sparsities must be a list of numbers"
        if errors:
            raise ValidationError(errors)

    @property
    def artifact_dir(self) -> Path:
        return _artifact_root() / "experiments" / (self.artifact_key or str(self.pk))

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def seeds_label(self) -> str:
        """[0, 1, 2, 5] -> "0-2, 5"."""
        out, seeds = [], sorted(self.seeds)
        i = 0
        while i < len(seeds):
            j = i
            while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
                j += 1
            out.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
            i = j + 1
        return ", ".join(out)


class TrainingRun(models.Model):
    """One seed of an experiment: files in ``experiment.artifact_dir/seed-<seed>/``."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="runs")
    seed = models.PositiveIntegerField()
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    checkpoint_path = models.CharField(max_length=500, blank=True)
    best_epoch = models.PositiveIntegerField(null=True, blank=True)
    best_val_loss = models.FloatField(null=True, blank=True)
    epochs_run = models.PositiveIntegerField(default=0)
    stopped_early = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["experiment", "seed"]
        constraints = [models.UniqueConstraint(fields=["experiment", "seed"], name="pruning_run_one_per_seed")]

    def __str__(self) -> str:
        return f"{self.experiment} seed {self.seed}"

    @property
    def out_dir(self) -> Path:
        return self.experiment.artifact_dir / f"seed-{self.seed}"

    @property
    def is_trained(self) -> bool:
        return self.finished_at is not None

    @property
    def history_path(self) -> Path:
        return self.out_dir / "history.csv"

    @property
    def curves_path(self) -> Path:
        return self.out_dir / "learning_curves.png"


class PruningSweep(models.Model):
    """Predictions of one trained seed at every sparsity of its experiment (one prediction store)."""

    training_run = models.OneToOneField(TrainingRun, on_delete=models.PROTECT, related_name="sweep")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    predictions_path = models.CharField(max_length=500, blank=True)
    # Overall achieved sparsity per requested sparsity: {"0.5": 0.5, ...}; per layer in the sidecar JSON.
    achieved_sparsity = models.JSONField(default=dict, blank=True)
    n_done = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sweep of {self.training_run}"

    @property
    def store_path(self) -> Path:
        return Path(self.predictions_path) if self.predictions_path else self.training_run.out_dir / "predictions.npz"

    @property
    def is_done(self) -> bool:
        return self.finished_at is not None


class PIESelectionQuerySet(models.QuerySet):
    def of_experiment(
        self,
        experiment: Experiment,
        *,
        sparsity: float | None = None,
        q: float | None = None,
        definition: str = "",
        method: str = "",
    ) -> "PIESelectionQuerySet":
        """The one lookup of "the experiment's PIE selection": of its own sweep (``method`` "") or of one
        compared method's sweeps, at its own pie_sparsity, pie_q and definition unless others are given.
        Sparsity matches within common.sparsity.TOLERANCE (never SQL equality: 0.9 and 0.9000000000000001
        are the same sparsity); the unique key allows at most one row."""
        target = experiment.pie_sparsity if sparsity is None else float(sparsity)
        return self.filter(
            experiment=experiment,
            sparsity__gte=target - TOLERANCE,
            sparsity__lte=target + TOLERANCE,
            q=experiment.pie_q if q is None else q,
            definition=definition or experiment.pie_definition,
            method=method,
        )

    def finished(self) -> "PIESelectionQuerySet":
        return self.filter(finished_at__isnull=False)


class PIESelection(models.Model):
    """PIEs of one experiment at one sparsity and fraction; the per-image table is a CSV file."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="pie_selections")
    # "" = the experiment's own sweep (prune_method, sparsities); else a compared method's (MethodSweep) stores.
    method = models.CharField(max_length=32, blank=True, default="")
    sparsity = models.FloatField(default=0.9)
    q = models.FloatField(default=0.05)
    definition = models.CharField(
        max_length=16, choices=Experiment.PieDefinition.choices, default=Experiment.PieDefinition.SPEARMAN
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    table_path = models.CharField(max_length=500, blank=True)
    n_images = models.PositiveIntegerField(null=True, blank=True)
    n_pies = models.PositiveIntegerField(null=True, blank=True)
    n_nan = models.PositiveIntegerField(null=True, blank=True)
    tie_group_size = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PIESelectionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "method", "sparsity", "q", "definition"], name="pruning_pies_unique_per_method"
            ),
            models.CheckConstraint(condition=Q(q__gt=0, q__lte=1), name="pruning_pies_q_range"),
            models.CheckConstraint(condition=Q(sparsity__gt=0, sparsity__lt=1), name="pruning_pies_sparsity_range"),
        ]

    def __str__(self) -> str:
        return f"PIEs of {self.experiment} at {self.method_name} {self.sparsity:g} (q={self.q:g}, {self.definition})"

    @property
    def method_name(self) -> str:
        """The compression method whose predictions the PIEs compare with the dense model's."""
        return self.method or self.experiment.prune_method

    @property
    def table_file(self) -> Path:
        return self.experiment.artifact_dir / "pies" / f"{self.pk}.csv"

    @property
    def is_done(self) -> bool:
        return self.finished_at is not None


class MethodSweep(models.Model):
    """Predictions of one trained seed under one more compression method (``Experiment.compare_methods``),
    beside the experiment's own sweep; its store sits next to that one with the method in its name."""

    training_run = models.ForeignKey(TrainingRun, on_delete=models.PROTECT, related_name="method_sweeps")
    method = models.CharField(max_length=32)
    levels = models.JSONField(default=list)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    predictions_path = models.CharField(max_length=500, blank=True)
    # Measured cost per level ({"0.75": {"params": ..., "file_bytes": ..., ...}}); see compress.costs.
    costs = models.JSONField(default=dict, blank=True)
    n_done = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["training_run", "method"]
        constraints = [
            models.UniqueConstraint(fields=["training_run", "method"], name="pruning_method_sweep_one_per_method")
        ]

    def __str__(self) -> str:
        return f"{self.method} sweep of {self.training_run}"

    @property
    def store_path(self) -> Path:
        if self.predictions_path:
            return Path(self.predictions_path)
        return self.training_run.out_dir / f"predictions-{self.method}.npz"

    @property
    def is_done(self) -> bool:
        return self.finished_at is not None
