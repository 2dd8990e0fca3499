"""Forms: register a dataset, render the synthetic one, start an experiment, select PIEs again.

Every engine or parameter error is turned into a form error with the engine's own message (which
names the file, row or value); a traceback never reaches the page.
"""

from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError

from common.sparsity import same_sparsity, swept
from pruning import params
from pruning.models import Dataset, Experiment


def _new_dataset_name(name: str) -> str:
    if Dataset.objects.filter(name=name).exists():
        raise ValidationError(f"A dataset named {name!r} already exists.")
    return name


class DatasetRegisterForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="Letters, digits, - and _.")
    kind = forms.ChoiceField(choices=Dataset.Kind.choices)
    root = forms.CharField(required=False, label="Synthetic dataset folder", max_length=500)
    labels_dir = forms.CharField(required=False, label="Label CSV folder (paper datasets)", max_length=500)
    image_root = forms.CharField(required=False, label="Image folder", max_length=500)
    train_csv = forms.CharField(required=False, label="Train label CSV", max_length=500)
    val_csv = forms.CharField(required=False, label="Validation label CSV", max_length=500)
    test_csv = forms.CharField(required=False, label="Test label CSV", max_length=500)
    id_column = forms.CharField(required=False, initial="id", max_length=100)
    path_column = forms.CharField(required=False, max_length=100, help_text="Optional: column with image paths.")
    check_images = forms.BooleanField(
        required=False, initial=True, label="Open every image now (slow for paper-size datasets)"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_name(self) -> str:
        return _new_dataset_name(self.cleaned_data["name"])

    def spec(self) -> dict:
        d, kind = self.cleaned_data, self.cleaned_data["kind"]
        if kind == Dataset.Kind.SYNTHETIC:
            return {"kind": kind, "root": d["root"]}
        if kind in (Dataset.Kind.NIH, Dataset.Kind.MIMIC):
            return {"kind": kind, "labels_dir": d["labels_dir"], "image_root": d["image_root"]}
        return {
            "kind": kind,
            "split_csvs": {"train": d["train_csv"], "val": d["val_csv"], "test": d["test_csv"]},
            "image_root": d["image_root"],
            "id_column": d["id_column"],
            "path_column": d["path_column"],
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        needed = {
            Dataset.Kind.SYNTHETIC: ["root"],
            Dataset.Kind.NIH: ["labels_dir", "image_root"],
            Dataset.Kind.MIMIC: ["labels_dir", "image_root"],
            Dataset.Kind.CSV: ["train_csv", "val_csv", "test_csv", "image_root", "id_column"],
        }.get(kind, [])
        for field in needed:
            if not cleaned.get(field):
                self.add_error(field, f"Required for a {Dataset.Kind(kind).label} dataset.")
        return cleaned


class SyntheticForm(forms.Form):
    name = forms.SlugField(max_length=100, initial="synthetic-demo")
    n = forms.IntegerField(min_value=30, max_value=200_000, initial=2000, label="Images")
    size = forms.IntegerField(min_value=32, max_value=2048, initial=256, label="Image size (px)")
    seed = forms.IntegerField(min_value=0, initial=0)

    def clean_name(self) -> str:
        return _new_dataset_name(self.cleaned_data["name"])


def _sparsity_text(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


_METHOD_CHOICES = [(name, spec.label) for name, spec in params.compress.REGISTRY.items()]
_METHOD_HELP = "; ".join(
    f"{name}: levels {_sparsity_text(spec.default_levels)} ({spec.unit}), PIEs at {spec.heavy_level:g}"
    for name, spec in params.compress.REGISTRY.items()
    if name != "l1"
)

_PARAMS_HELP = (
    'e.g. "imp: finetune_epochs=2, rewind=true" (blank: defaults; '
    + "; ".join(
        f"{name}: " + ", ".join(f"{k}={v}" for k, v in spec.params)
        for name, spec in params.compress.REGISTRY.items()
        if spec.params
    )
    + ")"
)


class ExperimentForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    name = forms.CharField(max_length=200)
    arch = forms.ChoiceField(choices=Experiment.Arch.choices, label="Architecture", initial="resnet50")
    seeds = forms.CharField(initial="0-29", help_text='A range "0-29", a list "0,1,2", or both "0-4, 10".')
    epochs = forms.IntegerField(min_value=1, max_value=1000, initial=60, label="Max epochs")
    image_size = forms.IntegerField(min_value=32, max_value=2048, initial=256, label="Image size (px)")
    init = forms.CharField(
        initial="imagenet", max_length=500, help_text="imagenet, random, or the path of a weights file."
    )
    batch_size = forms.IntegerField(min_value=1, max_value=4096, initial=256)
    lr = forms.FloatField(min_value=1e-8, max_value=1.0, initial=1e-4, label="Learning rate")
    patience = forms.IntegerField(min_value=0, max_value=1000, initial=15, help_text="Early stopping patience.")
    prune_method = forms.ChoiceField(choices=_METHOD_CHOICES, label="Compression method", help_text=_METHOD_HELP)
    sparsities = forms.CharField(
        required=False,
        initial=_sparsity_text(params.DEFAULT_SPARSITIES),
        widget=forms.TextInput(attrs={"size": 80}),
        label="Levels",
        help_text="Comma-separated, each in [0, 1); must include 0 and the PIE level. Blank: the method's defaults.",
    )
    pie_sparsity = forms.FloatField(
        required=False, initial=0.9, label="PIE level", help_text="Blank: the method's heavy level (0.9 for L1)."
    )
    compare_methods = forms.CharField(
        required=False,
        label="Also compare",
        widget=forms.TextInput(attrs={"size": 80}),
        help_text='More methods swept on the same trained seeds, e.g. "int8_static; structured: 0, 0.25, 0.5" '
        "(no levels: the method's defaults).",
    )
    method_params = forms.CharField(
        required=False,
        label="Method parameters",
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=_PARAMS_HELP,
    )
    pie_q = forms.FloatField(initial=0.05, label="PIE fraction q")
    pie_definition = forms.ChoiceField(choices=Experiment.PieDefinition.choices, label="PIE definition")

    def clean_seeds(self) -> list[int]:
        try:
            return params.parse_seeds(self.cleaned_data["seeds"])
        except params.ParamError as exc:
            raise ValidationError(str(exc)) from None

    def clean_sparsities(self) -> list[float] | None:
        if not self.cleaned_data["sparsities"].strip():
            return None  # the method's defaults (filled in clean, once the method is known)
        try:
            return params.parse_sparsities(self.cleaned_data["sparsities"])
        except params.ParamError as exc:
            raise ValidationError(str(exc)) from None

    def clean_compare_methods(self) -> list[dict]:
        try:
            return params.parse_compare(self.cleaned_data["compare_methods"])
        except params.ParamError as exc:
            raise ValidationError(str(exc)) from None

    def clean_method_params(self) -> dict:
        try:
            return params.parse_method_params(self.cleaned_data["method_params"])
        except params.ParamError as exc:
            raise ValidationError(str(exc)) from None

    def clean_init(self) -> str:
        init = self.cleaned_data["init"].strip()
        if init not in params.INITS and not Path(init).is_file():
            raise ValidationError(f"init {init!r} is neither imagenet, random nor an existing weights file")
        return init

    def clean(self) -> dict:
        cleaned = super().clean()
        spec = params.compress.REGISTRY.get(cleaned.get("prune_method", "l1"))
        if spec is not None and "sparsities" in cleaned and cleaned["sparsities"] is None:
            cleaned["sparsities"] = list(spec.default_levels)
        if spec is not None and "pie_sparsity" in cleaned and cleaned["pie_sparsity"] is None:
            cleaned["pie_sparsity"] = spec.heavy_level
        fields = ("seeds", "sparsities", "pie_sparsity", "pie_q", "arch", "init", "compare_methods", "method_params")
        if any(f not in cleaned for f in fields):
            return cleaned  # field errors already shown
        errors = params.check_experiment(
            seeds=cleaned["seeds"],
            sparsities=cleaned["sparsities"],
            pie_sparsity=cleaned["pie_sparsity"],
            pie_q=cleaned["pie_q"],
            arch=cleaned["arch"],
            init=cleaned["init"],
            prune_method=cleaned.get("prune_method", "l1"),
            compare_methods=cleaned["compare_methods"],
            method_params=cleaned["method_params"],
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return cleaned


class PieSelectionForm(forms.Form):
    sparsity = forms.FloatField(initial=0.9)
    q = forms.FloatField(initial=0.05, label="Fraction q")
    definition = forms.ChoiceField(choices=Experiment.PieDefinition.choices)

    def __init__(self, *args, experiment: Experiment, **kwargs):
        super().__init__(*args, **kwargs)
        self.experiment = experiment

    def clean(self) -> dict:
        cleaned = super().clean()
        sparsity, q = cleaned.get("sparsity"), cleaned.get("q")
        if sparsity is not None and (same_sparsity(sparsity, 0) or not swept(self.experiment.sparsities, sparsity)):
            self.add_error(
                "sparsity",
                f"sparsity {sparsity:g} was not swept; choose one of "
                f"{_sparsity_text(s for s in self.experiment.sparsities if s > 0)}",
            )
        if q is not None and not 0 < q <= 1:
            self.add_error("q", f"q={q:g} must be in (0, 1]")
        return cleaned
