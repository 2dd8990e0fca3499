"""Report pages: HTTP only (role check, validate, call a service or selector, render)."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analysis import overview as overview_data
from analysis.file_responses import artifact_response
from analysis.models import Report
from analysis.reports import selectors, services
from analysis.reports.forms import SOURCE_EXPERIMENT, NewReportForm
from analysis.reports.who import report_who
from config.roles import admin_required, researcher_required


@researcher_required
def overview(request: HttpRequest) -> HttpResponse:
    """The admin's home: recent experiments (live), reports and studies, each with its next step."""
    return render(request, "analysis/overview.html", overview_data.overview(user=request.user))


@researcher_required
def home(request: HttpRequest) -> HttpResponse:
    """The researchers' landing page: every report with its job's live status."""
    return render(request, "analysis/home.html", {"reports": selectors.report_list(user=request.user)})


@researcher_required
def report_new(request: HttpRequest) -> HttpResponse:
    form = NewReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["source"] == SOURCE_EXPERIMENT:
                report = services.report_create_for_experiment(experiment=data["experiment"], user=request.user)
                if data["title"]:
                    Report.objects.filter(pk=report.pk).update(title=data["title"])
            else:
                report = services.report_create_from_prunecxr(
                    title=data["title"] or f"{data['dataset']} ({data['preds_dir']})",
                    preds_dir=data["preds_dir"],
                    labels_dir=data["labels_dir"],
                    dataset=data["dataset"],
                    user=request.user,
                )
        except services.ReportRequestError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Report #{report.pk} queued; this page updates while it is computed.")
            return redirect("analysis:report_detail", pk=report.pk)
    return render(request, "analysis/report_new.html", {"form": form, "import_roots": services.import_roots()})


@researcher_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(selectors.reports_visible(request.user).select_related("job", "created_by"), pk=pk)
    files = selectors.report_files(report=report)
    context = {
        "report": report,
        "job": report.job,
        "figures": selectors.report_figures(report=report),
        "tables": selectors.report_tables(report=report),
        "files": files,
        "who_sections": report_who(report=report, files=files),
        "numbers": selectors.report_key_numbers(report=report),
        "correlations": selectors.report_correlations(report=report),
        "paper_dataset": selectors.paper_dataset(report),
        "class_summary": selectors.report_class_summary(report=report),
        "pie_tests": selectors.report_pie_tests(report=report),
        "synthetic_findings": selectors.report_synthetic_findings(report=report),
        "studies": _studies_of(request, report),
    }
    return render(request, "analysis/report_detail.html", context)


def _studies_of(request: HttpRequest, report: Report) -> list:
    """The reader studies built from this report's experiment that the user may see (with their statistics)."""
    from readerstudy.access import researcher_studies

    if not report.experiment_id:
        return []
    return list(researcher_studies(request.user).filter(source__experiment_id=report.experiment_id).order_by("id"))


@researcher_required
def report_file(request: HttpRequest, pk: int, name: str) -> FileResponse:
    """One file of the report folder. PNGs are shown inline (the page's <img>); everything else,
    SVG included (it could carry script), downloads as an attachment. A figure's SVG or PDF is
    drawn on its first download."""
    report = get_object_or_404(selectors.reports_visible(request.user), pk=pk)
    path = selectors.report_file_path(report=report, name=name) or services.report_figure_draw(report=report, name=name)
    if path is None:
        raise Http404("No such file in this report.")
    return artifact_response(request, path)


@admin_required
@require_POST
def report_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=pk)
    if report.job and report.job.is_active:
        messages.error(request, f"Report #{report.pk} is already being computed (job #{report.job.pk}).")
    else:
        job = services.report_rerun(report=report, user=request.user)
        messages.success(request, f"Report #{report.pk} queued again (job #{job.pk}); unchanged inputs are skipped.")
    return redirect("analysis:report_detail", pk=report.pk)
