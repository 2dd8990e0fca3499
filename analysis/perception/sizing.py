"""Study sizing as a job: request it from the page (typed components or a study as pilot), run it, read it.

The runner rebuilds the core's SizingRequest from the job's params, takes a pilot study's published log odds
ratio, scale and base when ``study_id`` is set (typed fields override them), simulates the grid with progress per cell,
and writes ARTIFACT_ROOT/sizing/<token>/sizing.json. The page shows that file.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings

from common.errors import AppError
from common.files import atomic_write_text
from jobs.models import Job
from jobs.services import job_create

JOB_KIND = "study_size"
PIE_KEYS = ("effect", "reader_sd", "case_sd", "reader_slope_sd", "base", "scale")
ROEMETZ_KEYS = ("mu_pos", "delta", "var_r", "var_c", "var_rc")
MAX_SIMULATED_STUDIES = 20_000  # grid cells x n_sim per job, so one request cannot hold a worker for hours


class SizingError(AppError):
    """A sizing request that cannot run as asked (the message says why)."""


def sizing_request(*, params: dict, user=None) -> Job:
    """Queue a sizing job for validated form params (see SizingForm)."""
    cells = len(params["readers"]) * len(params["cases"]) * len(params["analyses"])
    if cells * params["n_sim"] > MAX_SIMULATED_STUDIES:
        raise SizingError(
            f"{cells} grid cells x {params['n_sim']} simulations = {cells * params['n_sim']:,} simulated studies; "
            f"the page runs at most {MAX_SIMULATED_STUDIES:,} (use manage.py study_size for more)."
        )
    folder = Path(settings.ARTIFACT_ROOT) / "sizing" / secrets.token_hex(8)
    return job_create(kind=JOB_KIND, params=params, user=user, artifact_dir=str(folder))


def _pie_model(params: dict):
    from analysis.core.perception.sizing_pie import PieModel, pie_model_from_pilot

    typed = {k: params[k] for k in PIE_KEYS if params.get(k) is not None}
    if not params.get("study_id"):
        return PieModel(**typed), None
    from analysis.perception.inputs import study_questions, study_tidy_frame
    from readerstudy.models import Study

    study = Study.objects.get(pk=params["study_id"])
    tidy, questions = study_tidy_frame(study=study), study_questions(study=study)
    return pie_model_from_pilot(tidy, params["question"], questions, **typed)


def run_sizing(job: Job, progress) -> dict:
    # The numerical core loads numpy/scipy: imported here so that registering the job kind costs the web nothing.
    from analysis.core.perception.mrmc_data import json_ready
    from analysis.core.perception.roemetz import RoeMetz
    from analysis.core.perception.sizing import SizingRequest, size_study

    params = job.params
    try:
        pie, pilot = _pie_model(params)
    except ValueError as exc:  # a pilot that cannot give the effect: the message is for the user
        raise SizingError(str(exc)) from exc
    req = SizingRequest(
        readers=params["readers"],
        cases=params["cases"],
        analyses=params["analyses"],
        n_sim=params["n_sim"],
        seed=params["seed"],
        target=params["target"],
        cases_per_form=params["cases_per_form"],
        pie=pie,
        roemetz=RoeMetz(**{k: params[k] for k in ROEMETZ_KEYS}),
    )
    result = size_study(req, progress=lambda k, n: progress(k, n, f"grid cell {k} of {n}"))
    result["pilot"] = pilot
    result["study_id"] = params.get("study_id")
    atomic_write_text(Path(job.artifact_dir) / "sizing.json", json.dumps(json_ready(result), indent=2) + "\n")
    return {"sentences": result["sentences"], "study_id": params.get("study_id")}


def sizing_failure(job: Job | None) -> str:
    """What a failed sizing job tells the page: a SizingError's own message, else the kind of failure;
    never the traceback or a server path (those stay on the job page for admins)."""
    if job is None or job.status != Job.Status.FAILED:
        return ""
    first = (job.error or "").strip().splitlines()[0] if (job.error or "").strip() else ""
    kind, _, message = first.partition(": ")
    if kind == "SizingError" and message:
        return f"The sizing cannot run as asked: {message}"
    return f"The sizing could not be computed ({kind if kind.isidentifier() else 'an error'})."


def sizing_result(job: Job) -> dict | None:
    """The job's sizing.json, or None while it is not written."""
    path = Path(job.artifact_dir) / "sizing.json" if job.artifact_dir else None
    return json.loads(path.read_text()) if path and path.is_file() else None
