"""The "New report" form: an experiment's stores, or a folder in the paper's released layout."""

from django import forms

from analysis.reports import services
from pruning.models import Experiment  # analysis sits above pruning: the app is always installed with it

SOURCE_EXPERIMENT, SOURCE_PRUNECXR = "experiment", "prunecxr"


class NewReportForm(forms.Form):
    title = forms.CharField(max_length=200, required=False, help_text="Defaults to the source's name.")
    source = forms.ChoiceField(widget=forms.RadioSelect)
    preds_dir = forms.CharField(
        label="Predictions folder",
        required=False,
        max_length=500,
        help_text="Holds {dataset}_resnet50_seed-{s}_prune-{r}.pkl (seeds and sparsities are read from the names).",
    )
    labels_dir = forms.CharField(
        label="Labels folder",
        required=False,
        max_length=500,
        help_text="Holds miccai2023_{dataset}_labels_train.csv and ..._test.csv.",
    )
    dataset = forms.ChoiceField(
        choices=[(d, d) for d in services.PAPER_DATASETS], required=False, initial=services.PAPER_DATASETS[0]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            (SOURCE_EXPERIMENT, "An experiment's prediction stores"),
            (SOURCE_PRUNECXR, "A folder in the paper's released layout"),
        ]
        self.fields["experiment"] = forms.ModelChoiceField(
            queryset=Experiment.objects.order_by("-pk"), required=False, empty_label="— choose an experiment —"
        )
        self.fields["source"].choices = choices
        self.fields["source"].initial = choices[0][0]

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == SOURCE_EXPERIMENT:
            if not data.get("experiment"):
                self.add_error("experiment", "Choose the experiment whose stores to analyse.")
            return data
        if source != SOURCE_PRUNECXR:
            return data
        for field in ("preds_dir", "labels_dir"):
            if not data.get(field):
                self.add_error(field, "Required for the paper's layout.")
                continue
            try:
                data[field] = str(services.check_inside_import_roots(data[field]))
            except services.ReportRequestError as exc:
                self.add_error(field, str(exc))
        if not data.get("dataset"):
            self.add_error("dataset", "Choose the dataset named in the file names.")
        if not self.errors:
            try:
                services.check_prunecxr_inputs(
                    preds_dir=data["preds_dir"], labels_dir=data["labels_dir"], dataset=data["dataset"]
                )
            except services.ReportRequestError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data
