"""Dataset and experiment pages, and role-checked file downloads. HTTP only: auth, validate, call a
service, render. Researchers read everything; only admins create or start."""

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.roles import admin_required, researcher_required
from jobs.models import Job
from jobs.services import job_requeue
from pruning import kinds, selectors, visibility
from pruning.engine.errors import DatasetError
from pruning.forms import DatasetRegisterForm, ExperimentForm, PieSelectionForm, SyntheticForm
from pruning.models import Experiment, TrainingRun
from pruning.services_datasets import dataset_make_synthetic_start, dataset_register
from pruning.services_experiments import experiment_create, experiment_start, pie_selection_start


def _form_errors_from(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc.messages)


# --- datasets -------------------------------------------------------------------------------------


@researcher_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pruning/dataset_list.html",
        {
            "datasets": selectors.dataset_list(),
            "synthetic_form": SyntheticForm(),
            "synthetic_jobs": Job.objects.filter(kind=kinds.MAKE_SYNTHETIC).order_by("-created_at")[:5],
        },
    )


@admin_required
def dataset_register_view(request: HttpRequest) -> HttpResponse:
    form = DatasetRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dataset = dataset_register(
                name=form.cleaned_data["name"],
                spec=form.spec(),
                notes=form.cleaned_data["notes"],
                user=request.user,
                check_images=form.cleaned_data["check_images"],
            )
        except DatasetError as exc:  # the engine's message names the file, row or value
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, f"Dataset {dataset.name} registered: {dataset.n_images} images.")
            return redirect("pruning:dataset_list")
    return render(request, "pruning/dataset_register.html", {"form": form})


@admin_required
@require_POST
def dataset_synthetic(request: HttpRequest) -> HttpResponse:
    form = SyntheticForm(request.POST)
    if form.is_valid():
        try:
            job = dataset_make_synthetic_start(**form.cleaned_data, user=request.user)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, f"Rendering {form.cleaned_data['n']} images as job #{job.pk}.")
            return redirect("jobs:job_detail", pk=job.pk)
    return render(
        request,
        "pruning/dataset_list.html",
        {"datasets": selectors.dataset_list(), "synthetic_form": form, "synthetic_jobs": []},
        status=400,
    )


# --- experiments ----------------------------------------------------------------------------------


@researcher_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    experiments = selectors.experiment_list(user=request.user)
    return render(request, "pruning/experiment_list.html", {"experiments": experiments})


@admin_required
def experiment_new(request: HttpRequest) -> HttpResponse:
    initial = {"dataset": request.GET.get("dataset")} if request.GET.get("dataset") else None
    form = ExperimentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            experiment = experiment_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(
                request, f"Experiment #{experiment.pk} started: {experiment.n_seeds} seed(s), job #{experiment.job_id}."
            )
            return redirect("pruning:experiment_detail", pk=experiment.pk)
    return render(request, "pruning/experiment_form.html", {"form": form})


@researcher_required
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visible = visibility.experiments_visible(request.user)
    experiment = get_object_or_404(visible.select_related("dataset", "job", "created_by"), pk=pk)
    context = selectors.experiment_page(experiment)
    context["pie_form"] = PieSelectionForm(
        experiment=experiment,
        initial={"sparsity": experiment.pie_sparsity, "q": experiment.pie_q, "definition": experiment.pie_definition},
    )
    return render(request, "pruning/experiment_detail.html", context)


@admin_required
@require_POST
def experiment_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the pipeline, or resume it (retry the parent job) after a failure or a cancel."""
    experiment = get_object_or_404(Experiment, pk=pk)
    if experiment.source != Experiment.Source.TRAINED:
        messages.error(request, "Imported experiments have no pipeline to run.")
    elif experiment.job and experiment.job.status in (Job.Status.FAILED, Job.Status.CANCELLED):
        job_requeue(job_id=experiment.job_id)
        messages.success(request, f"Job #{experiment.job_id} resumes from the last finished step.")
    elif experiment.job and experiment.job.is_active:
        messages.info(request, f"Job #{experiment.job_id} is already {experiment.job.status}.")
    else:
        with transaction.atomic():
            job = experiment_start(experiment=experiment, user=request.user)
        messages.success(request, f"Started job #{job.pk}.")
    return redirect("pruning:experiment_detail", pk=pk)


@admin_required
@require_POST
def experiment_select_pies(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    form = PieSelectionForm(request.POST, experiment=experiment)
    if form.is_valid():
        try:
            selection = pie_selection_start(experiment=experiment, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, f"PIE selection #{selection.pk}: job #{selection.job_id or '-'}.")
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("pruning:experiment_detail", pk=pk)


# --- downloads: through views that check the role, never as static files -----------------------------


def _send(path: Path, filename: str, content_type: str, as_attachment: bool = True) -> FileResponse:
    if not path.is_file():
        raise Http404(f"{filename} has not been written yet")
    return FileResponse(path.open("rb"), as_attachment=as_attachment, filename=filename, content_type=content_type)


RUN_FILES = {
    "curves.png": ("learning_curves.png", "image/png", False),
    "history.csv": ("history.csv", "text/csv", True),
    "predictions.npz": ("predictions.npz", "application/octet-stream", True),
}


@researcher_required
def run_file(request: HttpRequest, pk: int, seed: int, name: str) -> FileResponse:
    if name not in RUN_FILES:
        raise Http404("unknown file")
    runs = TrainingRun.objects.filter(experiment__in=visibility.experiments_visible(request.user))
    run = get_object_or_404(runs.select_related("experiment", "job"), experiment_id=pk, seed=seed)
    filename, content_type, attachment = RUN_FILES[name]
    path = run.sweep.store_path if name == "predictions.npz" else run.out_dir / filename
    training = run.job is not None and run.job.status == "running" and not run.is_trained
    if name == "curves.png" and (_curves_behind(run.out_dir) or (training and not path.is_file())):
        return _live_curves(run.out_dir / "history.csv")
    return _send(path, f"experiment-{pk}-seed-{seed}-{filename}", content_type, attachment)


def _curves_behind(out_dir: Path) -> bool:
    """Training writes history.csv every epoch but draws the PNG only at the end: is the PNG behind?"""
    history, png = out_dir / "history.csv", out_dir / "learning_curves.png"
    return history.is_file() and (not png.is_file() or png.stat().st_mtime < history.stat().st_mtime)


def _live_curves(history_path: Path) -> HttpResponse:
    """The learning curves so far, drawn from history.csv (the page refreshes them while training runs)."""
    import pandas as pd

    from pruning.engine.train_parts import learning_curves_png

    history = pd.read_csv(history_path).to_dict("records") if history_path.is_file() else []
    response = HttpResponse(learning_curves_png(history), content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@researcher_required
def pie_table(request: HttpRequest, pk: int) -> FileResponse:
    selection = get_object_or_404(visibility.selections_visible(request.user), pk=pk)
    if not selection.table_path:
        raise Http404("this PIE selection has not finished")
    return _send(
        Path(selection.table_path), f"pies-{selection.pk}-experiment-{selection.experiment_id}.csv", "text/csv"
    )
