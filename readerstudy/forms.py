"""Admin forms for building a study (HTTP-side validation only; the builder re-checks the design)."""

import re

from django import forms
from django.contrib.auth import get_user_model

from config.roles import READERS


def _readers():
    return get_user_model().objects.filter(groups__name=READERS, is_active=True).order_by("username")


class StudyDesignForm(forms.Form):
    title = forms.CharField(max_length=200)
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    n_forms = forms.IntegerField(label="Number of forms", min_value=1, max_value=100, initial=6)
    cases_per_form = forms.IntegerField(label="Cases per form", min_value=1, max_value=1000, initial=40)
    pie_fraction = forms.FloatField(label="PIE fraction per form", min_value=0, max_value=1, initial=0.5)
    anchor_ids = forms.CharField(
        label="Anchor cases (source image ids every reader reads; one per line or comma-separated)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    readers_per_form = forms.IntegerField(min_value=1, max_value=100, initial=1)
    readers = forms.ModelMultipleChoiceField(queryset=_readers(), required=False, help_text="Reader i reads form i.")
    repeat_cases = forms.IntegerField(
        label="Hidden repeat cases per form (intra-reader agreement)", min_value=0, initial=0
    )
    stratify_by_class = forms.BooleanField(label="Match non-PIEs to the PIEs' classes", required=False)
    add_comment = forms.BooleanField(label="Add an optional free-text comment question", required=False)
    allow_back = forms.BooleanField(label="Readers may go back", required=False, initial=True)
    allow_change = forms.BooleanField(label="Readers may change finished answers", required=False, initial=True)
    seed = forms.IntegerField(min_value=0, initial=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["readers"].queryset = _readers()
        # Every reader is selected unless the admin narrows it down: forgetting to pick readers would
        # otherwise build a study nobody can see.
        self.fields["readers"].initial = list(self.fields["readers"].queryset)

    def clean_anchor_ids(self) -> list[str]:
        return [a for a in re.split(r"[\s,]+", self.cleaned_data["anchor_ids"]) if a]

    def design_kwargs(self) -> dict:
        """The builder's keyword arguments (everything but the candidates)."""
        from readerstudy.builder import COMMENT_QUESTION, DEFAULT_QUESTIONS

        d = self.cleaned_data
        return {
            "title": d["title"],
            "instructions": d["instructions"],
            "n_forms": d["n_forms"],
            "cases_per_form": d["cases_per_form"],
            "pie_fraction": d["pie_fraction"],
            "anchor_ids": d["anchor_ids"],
            "readers_per_form": d["readers_per_form"],
            "readers": list(d["readers"]),
            "repeat_cases": d["repeat_cases"],
            "stratify_by_class": d["stratify_by_class"],
            "seed": d["seed"],
            "allow_back": d["allow_back"],
            "allow_change": d["allow_change"],
            "questions": [*DEFAULT_QUESTIONS, COMMENT_QUESTION] if d["add_comment"] else None,
        }


class UploadStudyForm(StudyDesignForm):
    archive = forms.FileField(label="Zip of images (may also hold the CSV)")
    csv_file = forms.FileField(label="CSV of cases (if not inside the zip)", required=False)


class SelectionStudyForm(StudyDesignForm):
    selection = forms.ChoiceField(label="PIE selection")

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selection"].choices = list(choices)
        self.order_fields(["selection"])
