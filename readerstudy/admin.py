"""Django admin: browse everything; answers are read-only and answered questions are locked."""

from django.contrib import admin

from readerstudy.models import Answer, Assignment, Case, CaseReading, Form, Question, Study


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["order", "key", "text", "kind", "required", "options"]

    def get_readonly_fields(self, request, obj=None):
        # Once a study has answers its questions keep their meaning: no edits (services.question_update agrees).
        if obj is not None and Answer.objects.filter(question__study=obj).exists():
            return self.fields
        return []

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not Answer.objects.filter(question__study=obj).exists()


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "created_at", "created_by"]
    list_filter = ["status"]
    readonly_fields = ["design", "source", "created_by", "created_at"]
    inlines = [QuestionInline]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["token", "study", "source_image_id", "is_pie", "correlation", "is_anchor"]
    list_filter = ["study", "is_pie", "is_anchor"]
    search_fields = ["source_image_id", "token"]
    readonly_fields = ["token", "image", "image_bytes", "width", "height", "repeat_of"]


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ["study", "number"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["study", "pseudonym", "reader", "form", "started_at", "completed_at", "last_activity_at"]
    list_filter = ["study"]
    readonly_fields = ["seed", "order", "pseudonym", "started_at", "completed_at", "last_activity_at"]


@admin.register(CaseReading)
class CaseReadingAdmin(admin.ModelAdmin):
    list_display = ["assignment", "case", "first_viewed_at", "server_seconds", "client_active_seconds", "completed_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["reader", "case", "question", "value", "updated_at"]
    list_filter = ["case__study"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
