from django.contrib import admin

from analysis.models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "source", "dataset_name", "job", "created_by", "created_at")
    list_filter = ("source",)
    search_fields = ("title", "prunecxr_dir", "dataset_name")
    # The input paths are read-only: they name files the worker unpickles (see analysis.reports.import_roots).
    readonly_fields = (
        "job", "out_dir", "summary", "created_by", "created_at", "source", "prediction_paths", "dataset_spec",
        "pie_table_path", "checkpoint_path", "prunecxr_dir", "labels_dir", "dataset_name",
    )  # fmt: skip
    raw_id_fields = ("job",)
