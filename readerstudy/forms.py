"""Admin forms for building a study (HTTP-side validation only; the builder re-checks the design)."""

import math
import re

from django import forms

from config.roles import reader_accounts


def _readers():
    return reader_accounts()


class StudyDesignForm(forms.Form):
    title = forms.CharField(max_length=200)
    reader_title = forms.CharField(
        max_length=200,
        required=False,
        label="Title readers see",
        help_text="Say nothing about PIEs or what is compared; empty shows 'Reader study <id>'.",
    )
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
    readers = forms.ModelMultipleChoiceField(
        queryset=_readers(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Readers are dealt to the forms in turn: the first reads form 1, the second form 2, ...",
    )
    repeat_cases = forms.IntegerField(
        label="Hidden repeat cases per form (intra-reader agreement)", min_value=0, initial=0
    )
    stratify_by_class = forms.BooleanField(label="Match non-PIEs to the PIEs' classes", required=False)
    ask_disagreed_labels = forms.BooleanField(
        label="After a 'no' to the label question, ask which shown label the reader disagrees with",
        required=False,
        initial=True,
        help_text="Optional for the reader; exported and counted per label, never a rating.",
    )
    stratify_by = forms.CharField(
        label="Stratify PIEs and non-PIEs by a subgroup attribute",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "sex, age_band or view"}),
        help_text="Optional: an attribute of the images' metadata (sex, age_band, view or a column of your "
        "metadata CSV). PIEs keep their subgroup shares and non-PIEs are drawn in the same shares; a missing "
        "value is its own 'not available' subgroup. Not together with matching classes.",
    )
    add_comment = forms.BooleanField(label="Add an optional free-text comment question", required=False)
    add_confidence = forms.BooleanField(label="Add an optional confidence rating (1-5)", required=False)
    allow_unable = forms.BooleanField(
        label="Readers may answer 'unable to assess' to a question",
        required=False,
        help_text="Counted and exported, never a rating: the statistics leave it out and report how many.",
    )
    allow_back = forms.BooleanField(label="Readers may go back", required=False, initial=True)
    allow_change = forms.BooleanField(label="Readers may change finished answers", required=False, initial=True)
    keep_window = forms.BooleanField(
        label="Keep window/level from one case to the next",
        required=False,
        help_text="Off (the default): every case starts at the default window, so one image's setting never "
        "darkens the next.",
    )
    allow_review = forms.BooleanField(
        label="Readers who finished may review their answers next to the reference labels",
        required=False,
        help_text="Off by default. Answers are locked once a reader opens the review; PIE status is never shown.",
    )
    seed = forms.IntegerField(min_value=0, initial=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["readers"].queryset = _readers()
        # Every reader is selected unless the admin narrows it down: forgetting to pick readers would
        # otherwise build a study nobody can see.
        self.fields["readers"].initial = list(self.fields["readers"].queryset)

    def clean(self) -> dict:
        """Reader counts must fit the forms, every way round; an uneven PIE share is rounded with a note.

        `notes` (shown after the study is built) say what was rounded or left for later, never silently."""
        data = super().clean()
        self.notes: list[str] = []
        readers, n_forms, per = data.get("readers"), data.get("n_forms"), data.get("readers_per_form")
        if readers is not None and n_forms and per:
            n = len(readers)
            fill = math.ceil(n / n_forms)  # the most readers any form gets when n readers are dealt round-robin
            if n == 0:
                self.add_error("readers", "Choose at least one reader (more can be added while the study is a draft).")
            elif n > n_forms * per:
                self.add_error(
                    "readers_per_form",
                    f"{n} readers do not fit {n_forms} form(s) x {per} reader(s) per form: "
                    f"set readers per form to {fill}, or choose fewer readers.",
                )
            elif per > fill:
                self.add_error(
                    "readers_per_form",
                    f"{n} reader(s) over {n_forms} form(s) give at most {fill} reader(s) per form, not {per}: "
                    f"set it to {fill}, or choose {n_forms * per} readers.",
                )
            elif n < n_forms:
                self.notes.append(
                    f"Only {n} of the {n_forms} forms have a reader (forms {n + 1}-{n_forms} have none): "
                    "add readers while the study is a draft."
                )
        if data.get("stratify_by") and data.get("stratify_by_class"):
            self.add_error("stratify_by", "Stratify by class or by a subgroup attribute, not both.")
        cases, fraction = data.get("cases_per_form"), data.get("pie_fraction")
        if cases and fraction is not None:
            exact = cases * fraction
            n_pie = math.floor(exact + 0.5)  # the builder's rounding (design.plan_forms)
            if abs(exact - n_pie) > 1e-9:
                self.notes.append(
                    f"{cases} cases x PIE fraction {fraction:g} = {exact:g} PIEs, rounded to {n_pie} PIEs and "
                    f"{cases - n_pie} non-PIEs per form."
                )
        return data

    def clean_anchor_ids(self) -> list[str]:
        return [a for a in re.split(r"[\s,]+", self.cleaned_data["anchor_ids"]) if a]

    def design_kwargs(self) -> dict:
        """The builder's keyword arguments (everything but the candidates)."""
        from readerstudy.builder import COMMENT_QUESTION, CONFIDENCE_QUESTION, DEFAULT_QUESTIONS, DISAGREE_QUESTION

        d = self.cleaned_data
        extras = d["add_comment"] or d.get("add_confidence") or d.get("ask_disagreed_labels")
        return {
            "title": d["title"],
            "reader_title": d["reader_title"],
            "instructions": d["instructions"],
            "n_forms": d["n_forms"],
            "cases_per_form": d["cases_per_form"],
            "pie_fraction": d["pie_fraction"],
            "anchor_ids": d["anchor_ids"],
            "readers_per_form": d["readers_per_form"],
            "readers": list(d["readers"]),
            "repeat_cases": d["repeat_cases"],
            "stratify_by_class": d["stratify_by_class"],
            "stratify_by": d["stratify_by"].strip(),
            "seed": d["seed"],
            "allow_back": d["allow_back"],
            "allow_change": d["allow_change"],
            "keep_window": d["keep_window"],
            "allow_unable": d["allow_unable"],
            "allow_review": d.get("allow_review", False),
            "questions": [
                DEFAULT_QUESTIONS[0],
                *([DISAGREE_QUESTION] if d.get("ask_disagreed_labels") else []),
                *DEFAULT_QUESTIONS[1:],
                *([CONFIDENCE_QUESTION] if d.get("add_confidence") else []),
                *([COMMENT_QUESTION] if d["add_comment"] else []),
            ]
            if extras
            else None,
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
