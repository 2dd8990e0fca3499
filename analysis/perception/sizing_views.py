"""The study sizing page: a form (typed variance components, or a study of the user's as pilot), a job, a table."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from analysis.perception import sizing
from config.roles import researcher_required
from jobs.models import Job
from readerstudy.access import researcher_studies, study_jobs_q

ANALYSIS_LABELS = {
    "pie": "PIE odds ratio: the published test (reader fixed effects, two-way cluster-robust Wald)",
    "mrmc_auc": "MRMC AUC: two modalities, Obuchowski-Rockette with DeLong covariance (Roe-Metz simulation)",
}


FIELD_GROUPS = {
    "grid_fields": ("readers", "cases", "n_sim", "seed", "target", "cases_per_form"),
    "pie_fields": ("question", "effect", "reader_sd", "case_sd", "reader_slope_sd", "base", "scale"),
    "roemetz_fields": ("mu_pos", "delta", "var_r", "var_c", "var_rc"),
}


def _counts(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.replace(" ", "").split(",") if v})
    except ValueError:
        raise forms.ValidationError("Whole numbers separated by commas, e.g. 3,6,9.") from None
    if not values or values[0] < 2 or len(values) > 8:
        raise forms.ValidationError("Between 1 and 8 numbers, each at least 2.")
    return values


class SizingForm(forms.Form):
    readers = forms.CharField(initial="3,6,9", help_text="Reader counts, comma-separated.")
    cases = forms.CharField(initial="40,80,120", help_text="Case counts (all forms together).")
    analyses = forms.MultipleChoiceField(choices=list(ANALYSIS_LABELS.items()), initial=list(ANALYSIS_LABELS))
    n_sim = forms.IntegerField(min_value=10, max_value=2000, initial=200, label="Simulated studies per cell")
    seed = forms.IntegerField(min_value=0, initial=0)
    target = forms.FloatField(min_value=0.5, max_value=0.99, initial=0.8, label="Target power")
    cases_per_form = forms.IntegerField(
        min_value=0,
        initial=0,
        help_text="0: every reader reads every case; else forms of this many cases (split-plot).",
    )
    question = forms.CharField(required=False, initial="difficulty", help_text="The pilot study's question.")
    effect = forms.FloatField(
        required=False, help_text="PIE log odds ratio on the latent scale (blank: 0.8, or the pilot's)."
    )
    reader_sd = forms.FloatField(required=False, min_value=0, help_text="Reader leniency SD (latent; 0.5).")
    case_sd = forms.FloatField(required=False, min_value=0, help_text="Case difficulty SD (latent; 0.5).")
    reader_slope_sd = forms.FloatField(
        required=False, min_value=0, help_text="SD of readers' own PIE effects (latent; 0)."
    )
    base = forms.FloatField(required=False, help_text="Latent location of non-PIEs (blank: the scale's middle).")
    scale = forms.IntegerField(
        required=False, min_value=2, max_value=11, help_text="Answer points; 2: yes/no (blank: 5, or the pilot's)."
    )
    mu_pos = forms.FloatField(initial=1.0, label="Roe-Metz mu (positives)")
    delta = forms.FloatField(initial=0.5, label="Modality B shift (the effect)")
    var_r = forms.FloatField(initial=0.03, min_value=0, label="var_r")
    var_c = forms.FloatField(initial=0.30, min_value=0, label="var_c")
    var_rc = forms.FloatField(initial=0.20, min_value=0, label="var_rc")

    def clean_readers(self):
        return _counts(self.cleaned_data["readers"])

    def clean_cases(self):
        return _counts(self.cleaned_data["cases"])


@researcher_required
@require_http_methods(["GET", "HEAD", "POST"])
def sizing_page(request: HttpRequest) -> HttpResponse:
    """GET: the form (?study=<pk> uses that study as pilot) and, with ?job=<pk>, that job's result. POST: queue."""
    study = None
    if request.GET.get("study", "").isdigit():
        study = get_object_or_404(researcher_studies(request.user), pk=int(request.GET["study"]))
    form = SizingForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and study and not form.cleaned_data["question"]:
        form.add_error("question", "Name the pilot study's question to take its odds ratio from.")
    if request.method == "POST" and form.is_valid():
        params = {**form.cleaned_data, "study_id": study.pk if study else None}
        try:
            job = sizing.sizing_request(params=params, user=request.user)
        except sizing.SizingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Sizing queued (job #{job.pk}); this page shows the table when it is done.")
            query = f"?job={job.pk}" + (f"&study={study.pk}" if study else "")
            return redirect(reverse("analysis:sizing") + query)
    job = result = None
    if request.GET.get("job", "").isdigit():
        visible = Job.objects.filter(kind=sizing.JOB_KIND)
        if not request.user.is_superuser:
            visible = visible.filter(study_jobs_q(request.user, "params__study_id"))
        job = get_object_or_404(visible, pk=int(request.GET["job"]))
        result = sizing.sizing_result(job)
    groups = {name: [form[f] for f in fields] for name, fields in FIELD_GROUPS.items()}
    if study is None:
        groups["pie_fields"] = groups["pie_fields"][1:]  # no pilot, no pilot question
    failure = sizing.sizing_failure(job)
    context = {"form": form, "study": study, "job": job, "result": result, "failure": failure, **groups}
    return render(request, "analysis/sizing.html", context)
