"""Django admin: browse everything; answers are read-only and answered questions are locked."""

from django import forms
from django.contrib import admin, messages

from config.roles import READERS, is_researcher
from readerstudy import admin_users, services
from readerstudy.errors import ReaderStudyError
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


class StudyAdminForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["title", "reader_title", "instructions", "status", "allow_back", "allow_change", "collaborators"]

    def clean_collaborators(self):
        # The same rules as services.study_grant: researchers only, and never someone who reads the study.
        users = self.cleaned_data["collaborators"]
        for user in users:
            if not is_researcher(user):
                raise forms.ValidationError(f"{user} is not in the researchers group.")
            if self.instance.pk and Assignment.objects.filter(study=self.instance, reader=user).exists():
                raise forms.ValidationError(f"{user} reads this study blinded and cannot see its hidden fields.")
        return users


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "created_at", "created_by"]
    list_filter = ["status"]
    readonly_fields = ["design", "source", "created_by", "created_at"]
    filter_horizontal = ["collaborators"]
    form = StudyAdminForm
    inlines = [QuestionInline]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["token", "study", "source_image_id", "is_pie", "correlation", "is_anchor"]
    list_filter = ["study", "is_pie", "is_anchor"]
    search_fields = ["source_image_id", "token"]
    readonly_fields = ["token", "image", "image_bytes", "width", "height", "repeat_of"]
    # Once anyone has answered a case, what they answered about must not change under them.
    locked_when_answered = ["study", "is_pie", "shown_labels"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.answers.exists():
            return [*self.readonly_fields, *self.locked_when_answered]
        return self.readonly_fields


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ["study", "number"]


class AssignmentAddForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ["study", "reader", "form"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form"].required = False
        self.fields["form"].help_text = "Leave empty for the form with the fewest readers."

    def clean(self):
        data = super().clean()
        study, reader, form = data.get("study"), data.get("reader"), data.get("form")
        if study and reader:
            try:  # the service's own rules, here in clean() so a refusal is a form error and not a 500
                services.assignment_check(study=study, reader=reader)
            except ReaderStudyError as exc:
                self.add_error("reader", exc.message)
        if study and reader and Assignment.objects.filter(study=study, reader=reader).exists():
            self.add_error("reader", f"{reader} already reads a form of this study.")
        if study and form and form.study_id != study.pk:
            self.add_error("form", "This form belongs to another study.")
        return data


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["study", "pseudonym", "reader", "form", "started_at", "completed_at", "last_activity_at"]
    list_filter = ["study"]
    readonly_fields = ["study", "reader", "form", "seed", "order", "pseudonym", "started_at", "completed_at",
                       "last_activity_at"]  # fmt: skip

    def changelist_view(self, request, extra_context=None):
        for name in admin_users.dual_role_readers(Assignment.objects.all()):
            messages.warning(
                request,
                f"{name} has forms to read but is also a researcher or admin, so it reads nothing: give it a "
                f"separate reader account, or take it out of the '{READERS}' group.",
            )
        return super().changelist_view(request, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = AssignmentAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["study", "reader", "form"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return  # an assignment's order and seed are fixed once made
        # Through the service, so the reader gets a pseudonym and a stored, seeded order.
        made = services.assignment_create(study=obj.study, reader=obj.reader, form=form.cleaned_data.get("form"))
        obj.pk, obj.pseudonym, obj.seed, obj.order, obj.form = made.pk, made.pseudonym, made.seed, made.order, made.form
        obj._state.adding = False


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
