"""Reads for the perception statistics: a study's tidy answer table as a DataFrame, the (reader, case) pairs
its readers were assigned (for the completeness table), and a fingerprint of its answers (for the cache)."""

from __future__ import annotations

import hashlib

import pandas as pd
from django.db.models import Count, Max

from readerstudy.models import Answer, Assignment, Case, Study
from readerstudy.tables import TIDY_COLUMNS, answers_tidy, profile_columns


def study_tidy_frame(*, study: Study) -> pd.DataFrame:
    rows = answers_tidy(study=study)
    truth = sorted({k for r in rows for k in r if k.startswith("truth_")})
    return pd.DataFrame(rows, columns=TIDY_COLUMNS + truth + profile_columns(rows))


def study_questions(*, study: Study) -> list[dict]:
    return [{"key": q.key, "text": q.text, "kind": q.kind, "scale": q.scale} for q in study.questions.all()]


def study_expected_pairs(*, study: Study) -> pd.DataFrame:
    """reader (pseudonym), case_id for every non-repeat case in each reader's form."""
    pairs = []
    for asg in Assignment.objects.filter(study=study).select_related("form"):
        ids = Case.objects.filter(forms=asg.form, repeat_of__isnull=True).values_list("id", flat=True)
        pairs += [(asg.pseudonym, cid) for cid in ids]
    return pd.DataFrame(pairs, columns=["reader", "case_id"])


def study_answers_state(*, study: Study) -> str:
    """Changes whenever an answer is added, changed, removed or re-flagged, or a reader is added."""
    agg = Answer.objects.filter(case__study=study).aggregate(n=Count("id"), last=Max("updated_at"), last_id=Max("id"))
    n_simulated = Answer.objects.filter(case__study=study, simulated=True).count()
    n_assignments = Assignment.objects.filter(study=study).count()
    text = f"{agg['n']}|{agg['last']}|{agg['last_id']}|{n_simulated}|{n_assignments}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def study_pie_ties(*, study: Study) -> dict | None:
    """The PIE selection's tie group at the cutoff, for a study built from one (None otherwise): how many of
    the study's PIE/non-PIE labels rest on the tie-break rather than on the correlation."""
    from pruning.models import PIESelection

    if study.source.get("kind") != "pie_selection":
        return None
    selection = PIESelection.objects.filter(pk=study.source.get("selection_id")).first()
    if selection is None or selection.tie_group_size is None:
        return None
    in_pies = selection.summary.get("tie_group_in_pies")
    return {
        "n_pies": selection.n_pies,
        "n_images": selection.n_images,
        "tie_group_size": selection.tie_group_size,
        "tie_group_in_pies": in_pies,
        "tie_break": selection.summary.get("tie_break", "image index ascending"),
        "share_text": f"{100 * in_pies / selection.n_pies:.0f}%" if in_pies is not None and selection.n_pies else "",
    }
