"""Consent and reader profile: on first entry to a study a reader agrees to its consent text and describes
their experience; a changed text makes every reader agree again (each version and agreement is kept).

The text is versioned per study (`ConsentText`); `Study.consent_version` names the current one (0 = the
study has no consent step) and `Assignment.consent_version` the one the reader last agreed to, so the check
on every reader request is a comparison of two loaded integers (no query).
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from readerstudy.errors import NotAllowedError, ReaderStudyError
from readerstudy.models import Assignment, ConsentText, ReaderConsent, Study

# Used when a study names no profile fields of its own. kind: "int" (min..max), "choice" (options), "text".
DEFAULT_PROFILE_FIELDS: list[dict[str, Any]] = [
    {"key": "years_cxr", "label": "Years reading chest X-rays", "kind": "int", "min": 0, "max": 60},
    {
        "key": "subspecialty",
        "label": "Subspecialty",
        "kind": "choice",
        "options": ["Thoracic / chest", "General radiology", "Emergency", "Paediatric", "Other"],
    },
    {
        "key": "training_level",
        "label": "Training level",
        "kind": "choice",
        "options": ["Medical student", "Resident / registrar", "Fellow", "Attending / consultant"],
    },
]
KINDS = ("int", "choice", "text")
MAX_PROFILE_TEXT = 200


def profile_fields(study: Study) -> list[dict[str, Any]]:
    return list(study.profile_fields) or [dict(f) for f in DEFAULT_PROFILE_FIELDS]


def profile_fields_check(fields: Any) -> list[dict[str, Any]]:
    """A study's profile field list, checked: each has a key, a label and a known kind (choices need options)."""
    if not isinstance(fields, list):
        raise ReaderStudyError("Profile fields must be a list.")
    keys = set()
    for k, f in enumerate(fields, start=1):
        if not isinstance(f, dict) or not f.get("key") or not f.get("label") or f.get("kind") not in KINDS:
            raise ReaderStudyError(f"Profile field {k}: needs a key, a label and a kind ({', '.join(KINDS)}).")
        if f["kind"] == "choice" and len(f.get("options") or []) < 2:
            raise ReaderStudyError(f"Profile field {f['key']!r}: a choice needs at least 2 options.")
        if f["key"] in keys:
            raise ReaderStudyError(f"Profile field {f['key']!r} appears twice.")
        keys.add(f["key"])
    return fields


def profile_fields_set(*, study: Study, fields: Any) -> Study:
    """Set the study's profile fields (an empty list: the defaults); refused once a reader has agreed, so every
    profile of a study answers the same questions."""
    if ReaderConsent.objects.filter(assignment__study=study).exists():
        raise NotAllowedError("Readers have already given their profile; its fields can no longer change.")
    Study.objects.filter(pk=study.pk).update(profile_fields=profile_fields_check(fields))
    study.refresh_from_db()
    return study


def consent_current(study: Study) -> ConsentText | None:
    if not study.consent_version:
        return None
    return ConsentText.objects.filter(study=study, version=study.consent_version).first()


def consent_needed(assignment: Assignment) -> bool:
    """The reader has not agreed to the study's current consent text (no query: both versions are loaded)."""
    return assignment.study.consent_version > assignment.consent_version


def consent_text_set(*, study: Study, text: str) -> ConsentText | None:
    """Make `text` the study's consent text. A changed text is a new version (the old ones stay, with the
    agreements given to them) and every reader must agree again; an unchanged text changes nothing; an empty
    text removes the consent step."""
    text = (text or "").strip()
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        if not text:
            Study.objects.filter(pk=study.pk).update(consent_version=0)
            return None
        last = ConsentText.objects.filter(study=study).order_by("-version").first()
        if last is not None and last.text == text:
            Study.objects.filter(pk=study.pk).update(consent_version=last.version)
            return last
        new = ConsentText.objects.create(study=study, version=(last.version + 1 if last else 1), text=text)
        Study.objects.filter(pk=study.pk).update(consent_version=new.version)
        return new


def profile_clean(fields: list[dict[str, Any]], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's stored form, or one ReaderStudyError naming the first bad field (all of them in `errors`)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        value = raw.get(f["key"])
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            errors[f["key"]] = f"{f['label']}: this needs an answer."
        elif f["kind"] == "int":
            lo, hi = f.get("min", 0), f.get("max", 100)
            try:
                number = int(str(value))
            except ValueError:
                number = None
            if number is None or not lo <= number <= hi:
                errors[f["key"]] = f"{f['label']}: enter a whole number from {lo} to {hi} (got {value!r})."
            else:
                cleaned[f["key"]] = number
        elif f["kind"] == "choice":
            if value not in f["options"]:
                errors[f["key"]] = f"{f['label']}: choose one of {', '.join(f['options'])}."
            else:
                cleaned[f["key"]] = value
        else:
            cleaned[f["key"]] = str(value)[:MAX_PROFILE_TEXT]
    if errors:
        raise ReaderStudyError(next(iter(errors.values())), errors)
    return cleaned


def consent_agree(*, assignment: Assignment, version: int, profile: Mapping[str, Any]) -> ReaderConsent:
    """Record that the reader agreed to consent text `version` (the one they were shown) with this profile."""
    study = assignment.study
    try:
        version = int(version)
    except (TypeError, ValueError):
        version = -1  # a tampered form: treated like an outdated text
    if version != study.consent_version:
        raise NotAllowedError("The consent text changed while you were reading it; please read the new version.")
    cleaned = profile_clean(profile_fields(study), profile)
    text = ConsentText.objects.get(study=study, version=version)
    with transaction.atomic():
        row, _ = ReaderConsent.objects.update_or_create(
            assignment=assignment, consent=text, defaults={"agreed_at": timezone.now(), "profile": cleaned}
        )
        Assignment.objects.filter(pk=assignment.pk).update(consent_version=version)
    assignment.consent_version = version
    return row


def reader_profile(assignment: Assignment) -> dict[str, Any]:
    """The profile the reader gave with their latest agreement ({} if none): prefills a renewed consent."""
    last = ReaderConsent.objects.filter(assignment=assignment).order_by("-agreed_at").first()
    return dict(last.profile) if last else {}


def study_profiles(*, study: Study) -> dict[str, dict[str, Any]]:
    """Pseudonym -> the latest agreement: consent_version, consented_at and profile_<key> per field."""
    out: dict[str, dict[str, Any]] = {}
    rows = ReaderConsent.objects.filter(assignment__study=study).select_related("assignment", "consent")
    for row in rows.order_by("agreed_at"):
        out[row.assignment.pseudonym] = {
            "consent_version": row.consent.version,
            "consented_at": row.agreed_at.isoformat(),
            **{f"profile_{k}": v for k, v in row.profile.items()},
        }
    return out
