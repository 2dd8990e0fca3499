"""The steps a reader passes before reading a study's cases: agree to its consent text (with a profile), then
the practice cases. Answered from loaded fields only (no query), since every reader request asks it."""

from readerstudy.models import Assignment

ENTRY_STEP_MESSAGES = {
    "consent": "Please read and agree to the study's consent text first.",
    "practice": "Please finish the practice cases first.",
}


def entry_step(assignment: Assignment) -> str | None:
    """ "consent", "practice", or None once the reader may read the study's cases."""
    study = assignment.study
    if study.consent_version > assignment.consent_version:
        return "consent"
    if study.practice_count and assignment.practice_done_at is None:
        return "practice"
    return None
