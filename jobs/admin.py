from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: a job's status, attempt token and result belong to the worker that runs it (an edit here
    would bypass the fencing and the state machine). Jobs are started, cancelled and retried on the Jobs pages."""

    list_display = ("id", "kind", "status", "progress_done", "progress_total", "created_by", "created_at")
    list_filter = ("kind", "status")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
