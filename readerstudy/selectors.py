"""Reads. Two families, kept apart on purpose:

- reader_* functions build what a reader may see, from an explicit allow-list of fields (never a model
  serialisation), so a hidden field cannot leak by being added to a model;
- everything else is for researchers and admins and includes the hidden fields.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from readerstudy import hotpath
from readerstudy.access import readable_assignments, researcher_studies
from readerstudy.counts import label_disagreements, study_counts
from readerstudy.models import Answer, Assignment, Case, CaseReading, Question, Study
from readerstudy.progress import completed_case_ids, position_after
from readerstudy.sessions import session_gate

# --- reader side (blinded) ------------------------------------------------------------------------


@dataclass
class ReaderProgress:
    done: int
    total: int
    current: int  # first unfinished position; total + 1 when finished
    done_case_ids: frozenset[int] = frozenset()
    # Sessions (readerstudy.sessions): the first position still closed by the washout, and when it opens.
    locked_from: int | None = None
    opens_at: datetime | None = None
    session: int = 1

    @property
    def waiting(self) -> bool:
        """The reader finished a session and waits for the washout before the next one opens."""
        return self.locked_from is not None and self.current >= self.locked_from

    @property
    def finished(self) -> bool:
        return self.current > self.total

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def reader_assignments(*, reader: AbstractBaseUser) -> list[tuple[Assignment, ReaderProgress]]:
    """The reader's own studies (open or closed; drafts stay invisible) with their progress."""
    rows = readable_assignments(reader).select_related("study").order_by("-study__created_at")
    return [(a, reader_progress(assignment=a)) for a in rows]


def reader_assignment(*, reader: AbstractBaseUser, study_id: int) -> Assignment | None:
    """The reader's assignment in a study, if they may read it now (see readerstudy.access)."""
    return readable_assignments(reader).filter(study_id=study_id).select_related("study").first()


def reader_progress(*, assignment: Assignment, done_case_ids: set[int] | None = None) -> ReaderProgress:
    """Progress from the set of finished cases (one query, none when the caller already has the set)."""
    done = completed_case_ids(assignment) if done_case_ids is None else done_case_ids
    current = position_after(assignment.order, done)
    gate = session_gate(assignment, current) if assignment.study.sessions > 1 else None
    return ReaderProgress(
        done=len(done),
        total=assignment.total,
        current=current,
        done_case_ids=frozenset(done),
        locked_from=gate.locked_from if gate else None,
        opens_at=gate.opens_at if gate else None,
        session=gate.session if gate else 1,
    )


def reader_can_view(*, assignment: Assignment, position: int, progress: ReaderProgress) -> bool:
    """Readers see the case they are on, and earlier ones only where the study allows going back."""
    if not 1 <= position <= assignment.total or position > progress.current:
        return False
    if progress.locked_from is not None and position >= progress.locked_from:
        return False  # the next session is still closed by the washout
    return position == progress.current or assignment.study.allow_back


def reader_case_at(*, assignment: Assignment, position: int) -> Case:
    return Case.objects.get(pk=assignment.order[position - 1])


def reader_can_see_case(*, reader: AbstractBaseUser, token: str) -> Case | None:
    """The case behind an image token, if this reader is assigned to it in a non-draft study."""
    return Case.objects.filter(token=token, forms__assignments__in=readable_assignments(reader)).first()


def reader_question_payload(question: Question) -> dict[str, Any]:
    return {
        "key": question.key,
        "text": question.text,
        "kind": question.kind,
        "required": question.required,
        "options": list(question.options),
    }


def study_reader_fields(study: Study) -> dict[str, Any]:
    """What every reader of `study` may know about it (researchers' payloads add the rest)."""
    return {
        "id": study.pk,
        "title": study.reader_facing_title,
        "instructions": study.instructions,
        "status": study.status,
        "allow_back": study.allow_back,
        "allow_change": study.allow_change,
        "keep_window": bool((study.design or {}).get("keep_window", False)),
        "allow_unable": bool((study.design or {}).get("allow_unable", False)),
        "allow_review": bool((study.design or {}).get("allow_review", False)),
        "questions": [reader_question_payload(q) for q in study.questions.all()],
    }


def reader_study_payload(*, assignment: Assignment, progress: ReaderProgress | None = None) -> dict[str, Any]:
    progress = progress or reader_progress(assignment=assignment)
    return {
        **study_reader_fields(assignment.study),
        # The answer POST names its assignment: an API client reads it here (no HTML scraping).
        "assignment": assignment.pk,
        "progress": {"done": progress.done, "total": progress.total, "current": min(progress.current, progress.total)},
        "finished": progress.finished,
    }


@cache
def _image_prefix() -> str:
    return reverse("readerstudy:image", args=["x"]).removesuffix("x/")


def _image_url(case: Case | str) -> str:
    return f"{_image_prefix()}{case if isinstance(case, str) else case.token}/"


def _depth_payload(case: dict[str, Any]) -> dict[str, Any] | None:
    """Where the viewer gets a DICOM case's full-depth pixels, and the file's window in their units."""
    if not case["full_depth"]:
        return None
    w = case["display_window"] or {}
    return {
        "url": reverse("readerstudy:image_full", args=[case["token"]]),
        "max": int(w.get("max", 65535)),
        "center": float(w.get("center", 32767.5)),
        "width": float(w.get("width", 65535)),
        "from_file": bool(w.get("from_file")),
    }


def spacing_payload(case: dict[str, Any]) -> dict[str, Any] | None:
    """mm per pixel (row, column) for the viewer's ruler, where the DICOM file gave it; None otherwise."""
    w = case["display_window"] or {}
    spacing = w.get("spacing")
    if not spacing:
        return None
    detector = w.get("spacing_from") != "PixelSpacing"  # ImagerPixelSpacing: lengths include the magnification
    return {"row_mm": float(spacing[0]), "col_mm": float(spacing[1]), "detector": detector}


def reader_case_payload(
    *, assignment: Assignment, position: int, progress: ReaderProgress, rows: list[tuple] | None = None
) -> dict[str, Any]:
    """One case as its reader sees it: image, shown labels, their own answers, and where they may go. `rows`:
    `hotpath.cases_shown`'s, when a save has read them already (save & next)."""
    study = assignment.study
    nxt = position + 1 if position < assignment.total else None
    # This case and the next one (for the prefetch) in one query; completion comes from the progress.
    ids = hotpath.shown_ids(assignment, position)
    cases = hotpath.cases_shown(assignment=assignment, case_ids=ids, rows=rows)
    case = cases[ids[0]]
    completed = ids[0] in progress.done_case_ids
    can = lambda p: reader_can_view(assignment=assignment, position=p, progress=progress)  # noqa: E731
    return {
        "assignment": assignment.pk,
        "position": position,
        "total": assignment.total,
        "done": progress.done,
        "case": {
            "id": case["token"],
            "image_url": _image_url(case["token"]),
            "width": case["width"],
            "height": case["height"],
            "shown_labels": case["shown_labels"],
            "depth": _depth_payload(case),
            "pixel_spacing": spacing_payload(case),
        },
        "answers": case["answers"],
        "flag": {"flagged": case["flagged"], "comment": case["flag_comment"]},
        "completed": completed,
        "editable": study.is_open
        and assignment.review_opened_at is None  # locked once the reader has seen the reference labels
        and (not completed or study.allow_change),
        "prev": position - 1 if position > 1 and can(position - 1) else None,
        "next": nxt if nxt and can(nxt) else None,
        # Warm the browser cache with the next image so "save and next" shows it at once.
        "prefetch": _image_url(cases[ids[1]]["token"]) if nxt else None,
    }


def reader_answers(*, reader: AbstractBaseUser, study_id: int) -> list[dict[str, Any]]:
    """A reader's own answers, blinded (case token, their position, question, value, times)."""
    assignment = reader_assignment(reader=reader, study_id=study_id)
    if assignment is None:
        return []
    position = {case_id: k for k, case_id in enumerate(assignment.order, start=1)}
    rows = Answer.objects.filter(assignment=assignment).select_related("case", "question")
    out = [
        {
            "position": position.get(a.case_id),
            "case": a.case.token,
            "question": a.question.key,
            "value": a.value,
            "answered_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
        }
        for a in rows
    ]
    return sorted(out, key=lambda r: (r["position"] or 0, r["question"]))


# --- researcher side (everything) -----------------------------------------------------------------


def study_list(*, user: AbstractBaseUser) -> QuerySet[Study]:
    """The studies `user` has researcher access to (all for admins), with case and reader counts."""
    return (
        researcher_studies(user)
        .annotate(n_cases=Count("cases", distinct=True), n_readers=Count("assignments", distinct=True))
        .select_related("created_by")
    )


def study_cases(*, study: Study) -> list[dict[str, Any]]:
    """Every case with its hidden fields and completion counts (researchers only)."""
    cases = (
        Case.objects.filter(study=study)
        .annotate(
            n_assigned=Count("forms__assignments", distinct=True),
            n_completed=Count("readings", filter=Q(readings__completed_at__isnull=False), distinct=True),
            n_flagged=Count("readings", filter=Q(readings__flagged=True), distinct=True),
        )
        .prefetch_related("forms")
        .order_by("id")
    )
    return [
        {
            "case_id": c.pk,
            "token": c.token,
            "image_url": _image_url(c) if c.has_image else None,
            "shown_labels": c.shown_labels,
            "is_pie": c.is_pie,
            "source_image_id": c.source_image_id,
            "correlation": c.correlation,
            "dataset": c.dataset,
            "hidden_truth": c.hidden_truth,
            "is_anchor": c.is_anchor,
            "repeat_of_case_id": c.repeat_of_id,
            "forms": sorted(f.number for f in c.forms.all()),
            "n_assigned": c.n_assigned,
            "n_completed": c.n_completed,
            "n_flagged": c.n_flagged,
        }
        for c in cases
    ]


def study_dashboard(*, study: Study) -> dict[str, Any]:
    """Per-reader progress (done / assigned, last activity, median server time per finished case)."""
    seconds: dict[int, list[float]] = defaultdict(list)
    done: dict[int, int] = defaultdict(int)
    for r in CaseReading.objects.filter(assignment__study=study, completed_at__isnull=False):
        seconds[r.assignment_id].append(r.server_seconds)
        done[r.assignment_id] += 1
    simulated = dict(
        Answer.objects.filter(assignment__study=study, simulated=True)
        .values_list("assignment_id")
        .annotate(n=Count("id"))
        .values_list("assignment_id", "n")
    )
    changes: dict[int, int] = defaultdict(int)  # answers changed after they were first given (history > 1 entry)
    histories = Answer.objects.filter(assignment__study=study).values_list("assignment_id", "history")
    for assignment_id, history in histories:
        changes[assignment_id] += len(history or []) > 1
    readers = [
        {
            "assignment": a,
            "n_changed": changes[a.pk],
            "total_minutes": sum(seconds[a.pk]) / 60 if seconds[a.pk] else None,
            "pseudonym": a.pseudonym,
            "username": a.reader.get_username(),
            "form": a.form.number,
            "done": done[a.pk],
            "total": a.total,
            "percent": round(100 * done[a.pk] / a.total) if a.total else 100,
            "last_activity_at": a.last_activity_at,
            "median_seconds": statistics.median(seconds[a.pk]) if seconds[a.pk] else None,
            "n_simulated": simulated.get(a.pk, 0),
        }
        for a in Assignment.objects.filter(study=study).select_related("reader", "form")
    ]
    cases = study_cases(study=study)
    counts = study_counts(study=study)
    return {
        "counts": counts,
        "readers": readers,
        "cases": cases,
        # Cases, not answers: one finished reading is one case a reader rated (three answers in the paper's form).
        "n_readings_done": sum(r["done"] for r in readers),
        "n_readings_total": sum(r["total"] for r in readers),
        "n_flags": sum(c["n_flagged"] for c in cases),
        "flags": list(
            CaseReading.objects.filter(assignment__study=study, flagged=True)
            .select_related("assignment")
            .order_by("assignment__pseudonym", "flagged_at")
            .values("assignment__pseudonym", "case_id", "flag_comment", "flagged_at")
        ),
        # The one definition of cases and PIEs (readerstudy.counts): hidden repeats are not extra cases.
        "n_pie": counts.pies,
        "n_cases": counts.cases,
        "label_disagreements": label_disagreements(study=study),
    }


def readers_not_in(*, study: Study) -> list[AbstractBaseUser]:
    """Active readers (never researchers or admins) without a form in `study` (addable while it is a draft)."""
    from config.roles import reader_accounts

    taken = Assignment.objects.filter(study=study).values_list("reader_id", flat=True)
    return list(reader_accounts().exclude(pk__in=taken))
