"""Reader-study models: fields, constraints and cheap properties only (logic lives in services/selectors).

Blinding: everything a reader can load addresses a case by `Case.token` (random, unguessable) or by
their own presentation position; the hidden fields below never leave the researcher views.
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def new_token() -> str:
    # 128 random bits, URL-safe: says nothing about the case, its source or its creation order.
    return secrets.token_urlsafe(16)


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        OPEN = "open"
        CLOSED = "closed"

    title = models.CharField(max_length=200)
    # What readers see instead of `title` (which may say "PIEs and non-PIEs of ..."); empty: a neutral default.
    reader_title = models.CharField(
        max_length=200, blank=True, help_text="The title readers see; empty shows 'Reader study <id>'."
    )
    instructions = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    allow_back = models.BooleanField(default=True, help_text="Readers may go back to earlier cases.")
    allow_change = models.BooleanField(default=True, help_text="Readers may change answers of finished cases.")
    # The builder's parameters (forms, cases per form, seed, ...) and where the cases came from.
    design = models.JSONField(default=dict, blank=True)
    source = models.JSONField(default=dict, blank=True)
    # The owner: with the collaborators, the researchers who see this study's hidden side (admins see all).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="rs_collaborations",
        help_text="Researchers who may see this study's dashboard, hidden fields and exports.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Reading protocol (readerstudy.consent / training / sessions): the current consent text version (0 = no
    # consent step), the profile fields readers fill in (empty = consent.DEFAULT_PROFILE_FIELDS), how many
    # practice cases come first, and the reading sessions with the washout between them.
    consent_version = models.PositiveIntegerField(default=0)
    profile_fields = models.JSONField(default=list, blank=True)
    practice_count = models.PositiveIntegerField(default=0)
    sessions = models.PositiveSmallIntegerField(default=1)
    washout_days = models.FloatField(default=28.0, help_text="Minimum gap between a reader's sessions (days).")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def reader_facing_title(self) -> str:
        return self.reader_title or f"Reader study {self.pk}"


class Question(models.Model):
    class Kind(models.TextChoices):
        YES_NO = "yes_no", "Yes / no"
        LIKERT = "likert", "Likert scale"
        CHOICE = "choice", "Single choice"
        TEXT = "text", "Free text"
        # Which of the case's shown labels the reader disagrees with (asked after answering "no" to the yes/no
        # question whose key is options[0]): value {"labels": [...], "missing": bool}; not a rating.
        LABELS = "labels", "Labels disagreed with"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveIntegerField()
    key = models.SlugField(max_length=50, help_text="Short column name in exports, e.g. 'quality'.")
    text = models.CharField(max_length=500)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    required = models.BooleanField(default=True)
    # Likert: one text anchor per point (K = len); choice: the options; labels: [key of its yes/no question].
    # Unused for yes/no and text.
    options = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["study", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "order"], name="rs_question_order_unique"),
            models.UniqueConstraint(fields=["study", "key"], name="rs_question_key_unique"),
        ]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        if self.kind == self.Kind.LIKERT and (
            len(self.options) < 2 or not all(isinstance(o, str) for o in self.options)
        ):
            raise ValidationError({"options": "A Likert question needs a text anchor for each of at least 2 points."})
        if self.kind == self.Kind.CHOICE:
            if len(self.options) < 2 or not all(isinstance(o, str) and o for o in self.options):
                raise ValidationError({"options": "A single-choice question needs at least 2 non-empty options."})
            if len(set(self.options)) != len(self.options):
                raise ValidationError({"options": "Options of a single-choice question must differ."})
        if self.kind == self.Kind.LABELS and (len(self.options) != 1 or not isinstance(self.options[0], str)):
            raise ValidationError({"options": "A labels question names the key of its yes/no question, only that."})

    @property
    def scale(self) -> int:
        return len(self.options) if self.kind == self.Kind.LIKERT else 0


class Case(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cases")
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    # Relative to ARTIFACT_ROOT; the file is a metadata-free re-encoding named after the token. Empty for
    # cases imported from survey files (VIA CSVs carry answers, not pixels): see `has_image`.
    image = models.CharField(max_length=300, blank=True)
    image_bytes = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    shown_labels = models.JSONField(default=list, blank=True)

    # --- hidden: never shown to readers ---
    is_pie = models.BooleanField()
    source_image_id = models.CharField(max_length=300)
    correlation = models.FloatField(null=True, blank=True)
    dataset = models.CharField(max_length=100, blank=True)
    hidden_truth = models.JSONField(default=dict, blank=True)
    is_anchor = models.BooleanField(default=False)
    # A hidden repeat (intra-reader agreement) is its own case with its own token and image copy.
    repeat_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="repeats")
    # The reading session the case is read in (repeats go to a later one: readerstudy.sessions).
    session = models.PositiveSmallIntegerField(default=1)
    # DICOM (readerstudy.dicom): the full-depth pixels (uint16, after the modality/VOI LUT, MONOCHROME1 inverted)
    # and the display window from the file ({"center", "width", "max"}); empty for 8-bit images.
    full_depth = models.CharField(max_length=300, blank=True)
    display_window = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["study", "id"]

    def __str__(self) -> str:
        return f"case {self.token[:8]}"

    @property
    def has_image(self) -> bool:
        return bool(self.image)


class Form(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="forms")
    number = models.PositiveIntegerField()
    cases = models.ManyToManyField(Case, through="FormCase", related_name="forms")

    class Meta:
        ordering = ["study", "number"]
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="rs_form_number_unique")]

    def __str__(self) -> str:
        return f"{self.study} · form {self.number}"


class FormCase(models.Model):
    form = models.ForeignKey(Form, on_delete=models.CASCADE)
    case = models.ForeignKey(Case, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "case"], name="rs_formcase_unique")]

    def __str__(self) -> str:
        return f"form {self.form_id} · case {self.case_id}"


class Assignment(models.Model):
    """One reader reading one form of a study, in their own stored random order."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="assignments")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rs_assignments")
    # Pseudonymous reader id used in exports ("R01"), stable within the study.
    pseudonym = models.CharField(max_length=16)
    # The order is a pure function of (form's case ids, seed): see readerstudy.design.presentation_order.
    seed = models.BigIntegerField()
    order = models.JSONField(default=list)  # case ids, position 1 = order[0]
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Reading protocol: the consent version this reader last agreed to, when they finished the practice
    # cases, and the 1-based position at which each session starts in `order` ([1] = one session).
    consent_version = models.PositiveIntegerField(default=0)
    practice_done_at = models.DateTimeField(null=True, blank=True)
    session_starts = models.JSONField(default=list, blank=True)
    # When the reader first opened the review of reference labels (studies with design["allow_review"]):
    # from then on their answers are locked, so nothing is changed after seeing the truth.
    review_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "pseudonym"]
        constraints = [
            # A reader reads one form per study (anchor cases sit in every form).
            models.UniqueConstraint(fields=["study", "reader"], name="rs_assignment_reader_unique"),
            models.UniqueConstraint(fields=["study", "pseudonym"], name="rs_assignment_pseudonym_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study} · {self.pseudonym} · form {self.form.number}"

    @property
    def total(self) -> int:
        return len(self.order)


class CaseReading(models.Model):
    """One reader's time with one case: first view, server time and the client's active time."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="readings")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="readings")
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    # Server time = sum of gaps between consecutive events (view, save) on this case, each gap capped.
    last_event_at = models.DateTimeField(null=True, blank=True)
    server_seconds = models.FloatField(default=0)
    client_active_seconds = models.FloatField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    # "Flag this case": the reader marks a case for the researchers (bad image, wrong label, ...) with a note.
    flagged = models.BooleanField(default=False)
    flag_comment = models.TextField(blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "case"], name="rs_reading_unique")]

    def __str__(self) -> str:
        return f"assignment {self.assignment_id} · case {self.case_id}"


class Answer(models.Model):
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rs_answers")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="answers")
    value = models.JSONField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # [{"value": ..., "at": iso}, ...] one entry per save that changed the value (first entry = creation).
    history = models.JSONField(default=list)
    # Written by `simulate_readers` (a generative model), not by a person; every export and page says so.
    simulated = models.BooleanField(default=False, db_index=True)

    class Meta:
        ordering = ["case", "question__order"]
        constraints = [
            models.UniqueConstraint(fields=["reader", "case", "question"], name="rs_answer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reader} · {self.case} · {self.question.key}"


# --- The reading protocol: consent text versions, each reader's agreements with their profile, practice cases.
# Reading-protocol tables: consent text versions, each reader's agreements with their profile, and the
# practice cases (with the researcher's reference answers) that come before the real ones.
#
# Practice cases are their own table, not `Case` rows, and practice answers are not `Answer` rows: nothing
# that reads cases or answers (exports, statistics, simulation, the API) can pick them up by accident.


class ConsentText(models.Model):
    """One version of a study's consent text; a change makes a new version and keeps the old one."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="consent_texts")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "version"]
        constraints = [models.UniqueConstraint(fields=["study", "version"], name="rs_consent_version_unique")]

    def __str__(self) -> str:
        return f"{self.study} · consent v{self.version}"


class ReaderConsent(models.Model):
    """A reader agreeing to one version of the consent text, with the profile they gave at that moment."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="consents")
    consent = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="agreements")
    agreed_at = models.DateTimeField()
    profile = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["assignment", "agreed_at"]
        constraints = [models.UniqueConstraint(fields=["assignment", "consent"], name="rs_reader_consent_unique")]

    def __str__(self) -> str:
        return f"{self.assignment} · consent v{self.consent.version}"


class PracticeCase(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="practice_cases")
    order = models.PositiveIntegerField()
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    image = models.CharField(max_length=300)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    shown_labels = models.JSONField(default=list, blank=True)
    # question key -> the researcher's reference answer (stored form, as answering.clean_value returns it)
    reference = models.JSONField(default=dict)
    explanation = models.TextField(blank=True)

    class Meta:
        ordering = ["study", "order"]
        constraints = [models.UniqueConstraint(fields=["study", "order"], name="rs_practice_order_unique")]

    def __str__(self) -> str:
        return f"{self.study} · practice {self.order}"


class PracticeAnswer(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="practice_answers")
    practice_case = models.ForeignKey(PracticeCase, on_delete=models.CASCADE, related_name="answers")
    values = models.JSONField(default=dict)
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "practice_case"], name="rs_practice_answer_unique")
        ]

    def __str__(self) -> str:
        return f"{self.assignment} · practice {self.practice_case.order}"
