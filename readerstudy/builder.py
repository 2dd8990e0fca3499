"""Building a study: plan balanced forms (readerstudy.design), copy images under opaque names, write rows.

Either everything is created or nothing is: the rows live in one transaction and the copied images are
removed again when anything fails.
"""

import random
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from config.roles import is_reader
from readerstudy.design import Candidate, DesignError, plan_forms
from readerstudy.dicom import store_case_file
from readerstudy.images import ImageError, remove_study_images
from readerstudy.models import Case, Form, FormCase, Question, Study, new_token
from readerstudy.services import assignment_create

DEFAULT_QUESTIONS: tuple[dict[str, Any], ...] = (
    # The three questions of the paper's survey, with its exact wording (the VIA export uses these texts).
    {"key": "agree_label", "text": "Do you fully agree with the label?", "kind": "yes_no", "required": True},
    {
        "key": "quality",
        "text": "How would you rate the image quality?",
        "kind": "likert",
        "required": True,
        "options": ["Poor", "Fair", "Good", "Very good", "Excellent"],
    },
    {
        "key": "difficulty",
        "text": "How difficult would you consider it to properly diagnose this image?",
        "kind": "likert",
        "required": True,
        "options": ["Very easy", "Easy", "Moderate", "Difficult", "Very difficult"],
    },
)
# After a "no" to the label question: which of the shown labels the reader disagrees with (optional; not a
# rating). Its one option is the key of the yes/no question it follows (answering.disagreement_clean).
DISAGREE_QUESTION: dict[str, Any] = {
    "key": "disagree_labels",
    "text": "Which of the shown labels do you disagree with?",
    "kind": "labels",
    "required": False,
    "options": ["agree_label"],
}
COMMENT_QUESTION: dict[str, Any] = {"key": "comment", "text": "Comment (optional)", "kind": "text", "required": False}
# An optional confidence rating after the paper's questions (analysed like any Likert question, never required).
CONFIDENCE_QUESTION: dict[str, Any] = {
    "key": "confidence",
    "text": "How confident are you in your answers?",
    "kind": "likert",
    "required": False,
    "options": ["Not at all", "Slightly", "Moderately", "Very", "Completely"],
}


def _create_questions(study: Study, specs: Iterable[dict[str, Any]]) -> None:
    for order, spec in enumerate(specs, start=1):
        q = Question(
            study=study,
            order=order,
            key=spec["key"],
            text=spec["text"],
            kind=spec["kind"],
            required=spec.get("required", True),
            options=list(spec.get("options", [])),
        )
        q.full_clean(exclude=["study"])
        q.save()


def study_create_from_candidates(
    *,
    title: str,
    candidates: Sequence[Candidate],
    reader_title: str = "",
    n_forms: int = 6,
    cases_per_form: int = 40,
    pie_fraction: float = 0.5,
    anchor_ids: Sequence[str] = (),
    readers_per_form: int = 1,
    readers: Sequence[AbstractBaseUser] = (),
    repeat_cases: int = 0,
    stratify_by_class: bool = False,
    stratify_by: str = "",
    seed: int = 0,
    created_by: AbstractBaseUser | None = None,
    source: dict | None = None,
    instructions: str = "",
    allow_back: bool = True,
    allow_change: bool = True,
    keep_window: bool = False,
    allow_unable: bool = False,
    allow_review: bool = False,
    questions: Sequence[dict[str, Any]] | None = None,
) -> Study:
    """A draft study of `n_forms` balanced forms drawn from `candidates` (see `design.plan_forms`).

    Readers are spread over the forms (reader i reads form i mod n_forms), at most `readers_per_form`
    each; more can be added later with `services.assignment_create`. Raises DesignError (a ValueError)
    with a message saying what is short, before anything is written.
    """
    readers = list(readers)
    _check_readers(readers, n_forms, readers_per_form)
    plan = plan_forms(
        candidates, n_forms=n_forms, cases_per_form=cases_per_form, pie_fraction=pie_fraction, anchor_ids=anchor_ids,
        repeat_cases=repeat_cases, stratify_by_class=stratify_by_class, stratify_by=stratify_by, seed=seed,
    )  # fmt: skip
    design = {
        "n_forms": n_forms,
        "cases_per_form": cases_per_form,
        "pie_fraction": pie_fraction,
        "pies_per_form": plan.n_pie,
        "non_pies_per_form": plan.n_non_pie,
        "anchor_ids": [candidates[i].source_image_id for i in plan.anchors],
        "readers_per_form": readers_per_form,
        "repeat_cases": repeat_cases,
        "stratify_by_class": stratify_by_class,
        "stratified_matches": plan.stratified_matches,
        "stratify_by": stratify_by,  # a subgroup attribute; "strata": {value: [PIEs, non-PIEs]} drawn
        "strata": plan.strata,
        "seed": seed,
        "keep_window": keep_window,  # the reading page keeps window/level across cases (else resets per case)
        "allow_unable": allow_unable,  # readers may answer "unable to assess" (answering.UNABLE), not a rating
        "allow_review": allow_review,  # finished readers may see the reference labels (readerstudy.review)
    }
    study = None
    try:
        with transaction.atomic():
            study = Study.objects.create(
                title=title,
                reader_title=reader_title,
                instructions=instructions,
                allow_back=allow_back,
                allow_change=allow_change,
                design=design,
                source=source or {},
                created_by=created_by,
            )
            _create_questions(study, DEFAULT_QUESTIONS if questions is None else questions)
            forms = _create_cases_and_forms(study, candidates, plan, random.Random(f"{seed}:cases"))
            for i, reader in enumerate(readers):
                assignment_create(study=study, reader=reader, form=forms[i % n_forms])
    except BaseException:
        if study is not None and study.pk:
            remove_study_images(study.pk)
        raise
    return study


def _check_readers(readers: list[AbstractBaseUser], n_forms: int, readers_per_form: int) -> None:
    """The readers fit the forms, are reader accounts (and nothing else), and none is listed twice."""
    if readers_per_form < 1:
        raise DesignError(f"Readers per form must be at least 1 (got {readers_per_form}).")
    if len(readers) > n_forms * readers_per_form:
        raise DesignError(f"{len(readers)} readers do not fit {n_forms} forms x {readers_per_form} readers per form.")
    not_readers = [u.get_username() for u in readers if not is_reader(u)]
    if not_readers:
        raise DesignError(
            f"Not reader accounts (not in the readers group, or also a researcher or admin): {', '.join(not_readers)}."
        )
    if len({u.pk for u in readers}) != len(readers):
        raise DesignError("A reader is listed twice.")


def _create_cases_and_forms(study: Study, candidates, plan, rng: random.Random) -> list[Form]:
    def make_case(i: int, repeat_of: Case | None = None) -> Case:
        c = candidates[i]
        token = new_token()
        try:
            stored = store_case_file(Path(c.image_path), study.pk, token)
        except ImageError as exc:
            raise ImageError(f"Case {c.source_image_id}: {exc}") from None
        return Case.objects.create(
            study=study,
            token=token,
            image=stored.relpath,
            image_bytes=stored.n_bytes,
            width=stored.width,
            height=stored.height,
            full_depth=stored.full_depth,
            display_window=stored.window,
            shown_labels=list(c.shown_labels),
            is_pie=bool(c.is_pie),
            source_image_id=c.source_image_id,
            correlation=c.correlation,
            dataset=c.dataset,
            hidden_truth=dict(c.hidden_truth),
            is_anchor=i in plan.anchors,
            repeat_of=repeat_of,
        )

    # Created in random order, so row ids carry no trace of PIE status, form or source order.
    used = sorted({i for f in plan.forms for i in f.cases})
    rng.shuffle(used)
    cases = {i: make_case(i) for i in used}
    repeats = [(f, i) for f, fp in enumerate(plan.forms) for i in fp.repeats]
    rng.shuffle(repeats)
    repeat_cases = {(f, i): make_case(i, repeat_of=cases[i]) for f, i in repeats}
    forms = []
    for f, fp in enumerate(plan.forms):
        form = Form.objects.create(study=study, number=f + 1)
        members = [cases[i] for i in fp.cases] + [repeat_cases[(f, i)] for i in fp.repeats]
        FormCase.objects.bulk_create([FormCase(form=form, case=c) for c in members])
        forms.append(form)
    return forms


def study_create_from_upload(
    *,
    title: str,
    archive: IO[bytes] | Path,
    csv_file: IO[bytes] | Path | None = None,
    progress=None,
    archive_name: str | None = None,
    **design: Any,
) -> Study:
    """A study from a zip of images plus a CSV of shown labels and hidden attributes (see readerstudy.upload).

    Raises UploadError listing every bad row before anything is written. The extracted files live in a
    temporary folder that is removed whatever happens; `progress(done, total, message)` (per mille) hears
    about the checking (first half) and the building (second half). Runs in the "study_build" job
    (readerstudy.build_job), not in a web request.
    """
    from readerstudy.upload import candidates_from_upload

    def half(offset: int):
        if progress is None:
            return None
        return lambda done, total, message="": progress(offset + round(500 * done / max(1, total)), 1000, message)

    with tempfile.TemporaryDirectory(prefix="rs-upload-") as workdir:
        candidates, source = candidates_from_upload(
            archive, csv_file, Path(workdir), progress=half(0), archive_name=archive_name
        )
        if progress is not None:
            progress(500, 1000, f"{len(candidates)} cases checked; building the forms")
        return study_create_from_candidates(title=title, candidates=candidates, source=source, **design)
