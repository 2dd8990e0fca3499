from django.contrib import admin

from analysis.models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "source", "dataset_name", "job", "created_by", "created_at")
    list_filter = ("source",)
    search_fields = ("title", "prunecxr_dir", "dataset_name")
    readonly_fields = ("job", "out_dir", "summary", "created_by", "created_at")
    raw_id_fields = ("job",)
