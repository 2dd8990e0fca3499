"""Reading-protocol tables: consent text versions, each reader's agreements with their profile, and the
practice cases (with the researcher's reference answers) that come before the real ones.

Practice cases are their own table, not `Case` rows, and practice answers are not `Answer` rows: nothing
that reads cases or answers (exports, statistics, simulation, the API) can pick them up by accident.
"""

from django.db import models

from readerstudy.models import Assignment, Study, new_token


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
