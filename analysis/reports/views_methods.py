"""The cross-method report page of an experiment: HTTP only (role check, call the service, render)."""

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analysis.file_responses import artifact_response
from analysis.reports import methods
from config.api import Api, IsResearcher, errors
from config.roles import admin_required, researcher_required
from jobs.models import Job
from jobs.services import job_create
from pruning.models import Experiment, MethodSweep
from pruning.visibility import experiments_visible

JOB_KIND = "methods_report"
FILES = (
    "comparison.json",
    "curves.csv",
    "quality_cost.csv",
    "correlations.csv",
    "pie_overlap.csv",
    "methods_curves.png",
    "methods_pareto.png",
    "methods_pie_overlap.png",
)


def run_methods_report(job: Job, progress) -> dict:
    """Runner of the ``methods_report`` job kind."""
    experiment = Experiment.objects.select_related("dataset").get(pk=job.params["experiment_id"])
    comparison = methods.experiment_build(experiment, progress=progress)
    return {"statements": comparison.statements(), "out": str(methods.experiment_report_dir(experiment))}


def _latest_job(experiment: Experiment) -> Job | None:
    return Job.objects.filter(kind=JOB_KIND, params__experiment_id=experiment.pk).order_by("-created_at").first()


@researcher_required
def experiment_methods(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(experiments_visible(request.user).select_related("dataset"), pk=pk)
    summary = methods.experiment_summary(experiment)
    names = [experiment.prune_method] + sorted(
        set(MethodSweep.objects.filter(training_run__experiment=experiment).values_list("method", flat=True))
    )
    return render(
        request,
        "analysis/methods.html",
        {
            "experiment": experiment,
            "summary": summary,
            "job": _latest_job(experiment),
            "methods": names,
            "files": FILES if summary else (),
        },  # fmt: skip
    )


@admin_required
@require_POST
def experiment_methods_build(request: HttpRequest, pk: int) -> HttpResponse:
    with transaction.atomic():
        experiment = get_object_or_404(Experiment.objects.select_for_update(), pk=pk)
        job = _latest_job(experiment)
        if job is not None and job.is_active:
            messages.info(request, f"The comparison is already being computed (job #{job.pk}).")
        else:
            job = job_create(kind=JOB_KIND, params={"experiment_id": experiment.pk}, user=request.user)
            messages.success(request, f"Cross-method comparison queued (job #{job.pk}).")
    return redirect("analysis:experiment_methods", pk=pk)


@researcher_required
def experiment_methods_file(request: HttpRequest, pk: int, name: str) -> FileResponse:
    experiment = get_object_or_404(experiments_visible(request.user), pk=pk)
    path = methods.experiment_report_dir(experiment) / name
    if name not in FILES or not path.is_file():
        raise Http404("No such file in this comparison.")
    return artifact_response(request, path)


class MethodsComparisonSerializer(serializers.Serializer):
    experiment = serializers.IntegerField()
    methods = serializers.ListField(child=serializers.CharField())
    computed = serializers.BooleanField()
    job_id = serializers.IntegerField(allow_null=True)
    job_status = serializers.CharField(allow_blank=True)
    comparison = serializers.JSONField(
        allow_null=True, help_text="comparison.json: statements, correlations, PIE overlap, equal-size tests."
    )


class MethodsComparisonApi(Api):
    permission_classes = [*Api.permission_classes, IsResearcher]

    @extend_schema(
        operation_id="analysis_methods_comparison",
        responses={200: MethodsComparisonSerializer, **errors(403, 404)},
        summary="An experiment's cross-method comparison, as last computed (reads only)",
    )
    def get(self, request: Request, pk: int) -> Response:
        experiment = get_object_or_404(experiments_visible(request.user), pk=pk)
        summary = methods.experiment_summary(experiment)
        job = _latest_job(experiment)
        others = MethodSweep.objects.filter(training_run__experiment=experiment).values_list("method", flat=True)
        data = {
            "experiment": experiment.pk,
            "methods": [experiment.prune_method, *sorted(set(others))],
            "computed": summary is not None,
            "job_id": job.pk if job else None,
            "job_status": job.status if job else "",
            "comparison": summary,
        }
        return Response(MethodsComparisonSerializer(data).data)
