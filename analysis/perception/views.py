"""Perception statistics pages, downloads and JSON API: HTTP only (role and per-study access check, then
analysis.perception.services). A study the user has no researcher access to answers 404, as its dashboard does."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analysis.file_responses import artifact_response
from analysis.perception import services as perception
from analysis.perception.inputs import study_pie_ties
from analysis.perception.mrmc import study_vgc
from config.api import Api, IsResearcher, errors
from config.roles import researcher_required
from readerstudy.access import researcher_studies


def _context(request: HttpRequest, study) -> dict:
    stats = perception.perception_get(study=study)
    current = perception.perception_is_current(stats)
    return {
        "study": study,
        "stats": stats,
        "job": stats.job,
        "summary": stats.summary,
        "current": current,
        "can_recompute": perception.perception_can_recompute(stats, current),
        "tables": perception.perception_tables(stats),
        "figures": perception.perception_figures(stats),
        "completeness": stats.summary.get("tables", {}).get("completeness", []),
        "mrmc": study_vgc(study=study),
        "published": perception.perception_published(stats),
        "failure": perception.perception_failure(stats.job),
        "ties": study_pie_ties(study=study),
        "report": _source_report(study),
    }


def _source_report(study):
    """The forgettability report of the experiment the study's cases came from (the newest), if any."""
    from analysis.models import Report

    experiment_id = (study.source or {}).get("experiment_id")
    return Report.objects.filter(experiment_id=experiment_id).order_by("-id").first() if experiment_id else None


@researcher_required
@require_http_methods(["GET", "HEAD", "POST"])
def perception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The statistics page. A GET only reads; its "Compute"/"Recompute" button POSTs here, which starts a job
    when the answers changed since the last one (and none is computing them), then shows the page again."""
    study = get_object_or_404(researcher_studies(request.user), pk=pk)
    if request.method == "POST":
        stats = perception.perception_request(study=study, user=request.user)
        if stats.job is not None and stats.job.is_active:
            messages.success(request, f"Computing the statistics (job #{stats.job.pk}).")
        else:
            messages.info(request, "The statistics are up to date with the answers.")
        return redirect("analysis:perception", pk=study.pk)
    return render(request, "analysis/perception.html", _context(request, study))


@researcher_required
def perception_file(request: HttpRequest, pk: int, name: str) -> FileResponse:
    """One file of the statistics folder: PNGs inline (the page's <img>), everything else as an attachment."""
    stats = get_object_or_404(perception.PerceptionStats, study_id=pk, study__in=researcher_studies(request.user))
    path = perception.perception_file_path(stats=stats, name=name)
    if path is None:
        raise Http404("No such file in these statistics.")
    return artifact_response(request, path)


@researcher_required
def perception_html(request: HttpRequest, pk: int) -> HttpResponse:
    """One self-contained HTML file (figures embedded) to send to co-authors."""
    stats = get_object_or_404(perception.PerceptionStats, study_id=pk, study__in=researcher_studies(request.user))
    if not stats.stage:
        raise Http404("The statistics have not been computed yet.")
    html = render_to_string(
        "analysis/perception_report.html",
        {
            "study": stats.study,
            "summary": stats.summary,
            "tables": perception.perception_tables(stats),
            "figures": perception.perception_figures_inline(stats),
            "completeness": stats.summary.get("tables", {}).get("completeness", []),
            "published": perception.perception_published(stats),
        },
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="study{pk}_perception_report.html"'
    return response


class PerceptionStatsSerializer(serializers.Serializer):
    study = serializers.IntegerField(help_text="Study id.")
    state = serializers.CharField(help_text="Fingerprint of the answers the numbers were computed from.")
    current = serializers.BooleanField(help_text="True when computed from the study's answers as they are now.")
    stage = serializers.ChoiceField(
        choices=["", "fast", "full"],
        help_text='"" not computed yet; "fast": all but the bootstrap CIs of the odds ratios; "full": everything.',
    )
    job_id = serializers.IntegerField(allow_null=True)
    job_status = serializers.CharField(allow_blank=True)
    sentences = serializers.ListField(child=serializers.CharField(), help_text="One generated sentence per question.")
    summary = serializers.JSONField(help_text="summary.json: every table as records, counts, definitions, timings.")


class PerceptionStatsApi(Api):
    permission_classes = [*Api.permission_classes, IsResearcher]

    @extend_schema(
        operation_id="analysis_perception_stats",
        responses={200: PerceptionStatsSerializer, **errors(403, 404)},
        summary="A study's perception statistics, as computed so far (reads only; POST starts a computation)",
    )
    def get(self, request: Request, pk: int) -> Response:
        study = get_object_or_404(researcher_studies(request.user), pk=pk)
        return self._respond(study, perception.perception_get(study=study))

    @extend_schema(
        operation_id="analysis_perception_compute",
        request=None,
        responses={200: PerceptionStatsSerializer, **errors(403, 404)},
        summary="Start computing a study's perception statistics when the answers changed (and none runs)",
    )
    def post(self, request: Request, pk: int) -> Response:
        study = get_object_or_404(researcher_studies(request.user), pk=pk)
        return self._respond(study, perception.perception_request(study=study, user=request.user))

    def _respond(self, study, stats) -> Response:
        data = {
            "study": study.pk,
            "state": stats.state,
            "current": perception.perception_is_current(stats),
            "stage": stats.stage,
            "job_id": stats.job_id,
            "job_status": stats.job.status if stats.job else "",
            "sentences": stats.summary.get("sentences", []),
            "summary": stats.summary,
        }
        return Response(PerceptionStatsSerializer(data).data)
