"""A study's VGC-style MRMC analysis for its statistics page: PIE status as truth, each question's ratings as
scores (analysis.core.perception.vgc). It takes milliseconds, so the page computes it on read, cached per state
of the answers (the same fingerprint as the perception statistics)."""

from __future__ import annotations

from django.core.cache import cache

from analysis.perception.inputs import study_answers_state, study_questions, study_tidy_frame
from readerstudy.models import Study


def study_vgc(*, study: Study) -> dict:
    """{"rows", "sentences", "definition"} or {"error": message} when the answers cannot be analysed."""
    key = f"perception-vgc:{study.pk}:{study_answers_state(study=study)}"
    result = cache.get(key)
    if result is None:
        from analysis.core.perception.data import PerceptionInputError
        from analysis.core.perception.mrmc_data import json_ready
        from analysis.core.perception.vgc import vgc_analysis

        tidy = study_tidy_frame(study=study)
        if tidy.empty:
            return {"error": "No answers yet."}
        try:
            result = json_ready(vgc_analysis(tidy, study_questions(study=study)))
        except PerceptionInputError as exc:
            result = {"error": str(exc)}
        cache.set(key, result, 3600)
    return result
