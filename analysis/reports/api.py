"""JSON API of a report's "who is forgotten" sections: HTTP only (role check, then the selectors)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analysis.models import Report
from analysis.reports import selectors
from analysis.reports.who import report_who_payload
from config.api import Api, IsResearcher, errors


class WhoSectionSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    sentences = serializers.ListField(child=serializers.CharField(), help_text="Generated from the numbers.")
    footnotes = serializers.ListField(child=serializers.CharField())
    figures = serializers.ListField(child=serializers.JSONField(), help_text="name, caption, formats")
    tables = serializers.ListField(child=serializers.JSONField(), help_text="file (CSV in the report folder), caption")


class ReportWhoSerializer(serializers.Serializer):
    report = serializers.IntegerField()
    ready = serializers.BooleanField(help_text="False until the report has been computed with these sections.")
    level_name = serializers.CharField(allow_null=True)
    focus_level = serializers.FloatField(allow_null=True, help_text="The level the sentences describe (the PIE level).")
    binning = serializers.CharField(allow_null=True)
    attributes = serializers.DictField(child=serializers.IntegerField(), help_text="Images with a known value.")
    planted = serializers.JSONField(allow_null=True, help_text="Synthetic data: the planted mechanism's check.")
    sections = WhoSectionSerializer(many=True)


class ReportWhoApi(Api):
    permission_classes = [*Api.permission_classes, IsResearcher]

    @extend_schema(
        operation_id="analysis_report_who",
        responses={200: ReportWhoSerializer, **errors(403, 404)},
        summary="A report's subgroup, calibration and uncertainty sections (sentences, numbers, file names)",
    )
    def get(self, request: Request, pk: int) -> Response:
        report = get_object_or_404(Report, pk=pk)
        files = selectors.report_files(report=report)
        return Response(ReportWhoSerializer(report_who_payload(report=report, files=files)).data)
