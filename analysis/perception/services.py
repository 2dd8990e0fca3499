"""Perception statistics of a study as a job: request it (services), compute it (runner), read it (selectors).

One `PerceptionStats` row per study caches the result for one state of the study's answers. Reading the
statistics (a GET of the page or the API) never writes; asking for a computation (the page's "Compute" /
"Recompute" POST, the API's POST, the demo) starts a "perception" job only when the cached state is not
the current one and no job is already on it. The job writes the fast part first (seconds: tables,
models, agreement, figures) and then the full part (the ordinal/logistic bootstrap CIs), each time to
ARTIFACT_ROOT/perception/<study>/<state>/ with summary.json last, and updates the row after each, so a
page shows the fast part while the slow part is still running.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from analysis.models import PerceptionStats
from analysis.perception.inputs import study_answers_state, study_expected_pairs, study_questions, study_tidy_frame
from jobs.models import Job
from jobs.services import job_create
from readerstudy.models import Study

JOB_KIND = "perception"
FIGURE_CAPTIONS = {
    "fig6_perception": "Figure 6 as in the paper: mean ± SD of the pooled answers per group.",
    "fig_distributions": "Answer distributions per question and group (% of answers).",
    "fig_readers": "Each reader's PIE and non-PIE means, joined by a line.",
    "fig_agreement": "Exact agreement between readers on the cases they share (%).",
}
FIGURE_FORMATS = ("png", "svg", "pdf")
TABLE_TITLES = {
    "published": "Published effect per question (the numbers the sentences quote)",
    "descriptive": "Paper-exact: pooled n, mean, SD, median, IQR",
    "paper_tests": "Paper-exact tests (Welch t, Mann-Whitney U, Kruskal-Wallis) with Holm-adjusted p",
    "distribution": "Answer distributions",
    "effect_sizes": "Effect sizes, two-way cluster bootstrap 95% CI",
    "mixed_linear": "Linear mixed model, crossed reader and case random intercepts (rating scale)",
    "ordinal": "Odds ratio (ordinal / logistic), reader fixed effects: two-way and case-clustered Wald, bootstrap",
    "dose_response": "Dose-response: Spearman ρ of case mean rating vs PIE correlation",
    "dose_response_mixed": "Dose-response: slope of the PIE correlation in the crossed mixed model",
    "agreement_inter": "Inter-reader agreement on anchor cases",
    "reader_bias": "Reader bias (mean offset from the case consensus)",
    "agreement_intra": "Intra-reader agreement on hidden repeats",
    "agreement_pairwise": "Pairwise exact agreement",
    "repeat_gaps": "Time between a case and its hidden repeat (days), per reader",
    "experience_groups": "By reader experience (years reading chest X-rays)",
    "experience_model": "Linear mixed model with years of experience as a covariate",
}


def perception_root(study_id: int) -> Path:
    return Path(settings.ARTIFACT_ROOT) / "perception" / str(study_id)


# --- services -------------------------------------------------------------------------------------


def perception_request(*, study: Study, user=None) -> PerceptionStats:
    """The study's cached statistics; queues a job first when the answers changed since (and none runs).
    A write: called from POST requests and commands, never from a GET."""
    state = study_answers_state(study=study)
    with transaction.atomic():
        stats, _ = PerceptionStats.objects.select_for_update().get_or_create(study=study)
        busy = stats.job is not None and stats.job.is_active and stats.job.params.get("state") == state
        if stats.state != state and not busy:
            stats.job = job_create(
                kind=JOB_KIND,
                params={"study_id": study.pk, "state": state},
                user=user,
                artifact_dir=str(perception_root(study.pk) / state),
            )
            stats.save(update_fields=["job", "updated_at"])
    return stats


def jobs_visible_q(user):
    """Statistics jobs a non-admin may see: those of the studies the user is granted (and their own)."""
    from readerstudy.access import study_jobs_q

    return study_jobs_q(user, "params__study_id")


# --- runner ---------------------------------------------------------------------------------------


def run_perception(job: Job, progress) -> dict:
    """The "perception" job: fast part, then full part, each written and recorded as soon as it is done."""
    from analysis.core.perception.compute import compute_perception

    study = Study.objects.get(pk=job.params["study_id"])
    state = job.params["state"]
    out = Path(job.artifact_dir)
    progress(0, 3, "reading answers")
    tidy, expected = study_tidy_frame(study=study), study_expected_pairs(study=study)
    questions = study_questions(study=study)
    result = {}
    for step, stage in enumerate(("fast", "full"), start=1):
        progress(step - 1, 3, f"computing the {stage} part")
        stats = compute_perception(tidy, stage=stage, expected=expected, questions=questions, seed=0)
        _add_protocol_tables(stats, tidy)
        stats.write(out, FIGURE_FORMATS)
        summary = json.loads((out / "summary.json").read_text())
        PerceptionStats.objects.filter(study=study).update(state=state, stage=stage, out_dir=str(out), summary=summary)
        result = {"stage": stage, "timings_s": summary.get("timings_s", {}), "n_answers": summary.get("n_answers")}
        progress(step, 3, f"{stage} part ready")
    progress(3, 3, "done")
    return result


def _add_protocol_tables(stats, tidy) -> None:
    """Experience groups, the experience covariate model and the repeat gaps (analysis.core.perception
    .experience) join the result's tables and summary, so the page, the CSVs and summary.json carry them."""
    from analysis.core.perception.experience import protocol_tables

    for name, frame in protocol_tables(tidy).items():
        if frame.empty:
            continue
        stats.tables[name] = frame
        stats.summary["tables"][name] = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


# --- selectors ------------------------------------------------------------------------------------


def perception_get(*, study: Study) -> PerceptionStats:
    """The study's cached statistics, read only: an unsaved empty row when nothing was ever computed."""
    stats = PerceptionStats.objects.select_related("job").filter(study=study).first()
    return stats if stats is not None else PerceptionStats(study=study)


def perception_can_recompute(stats: PerceptionStats, current: bool) -> bool:
    """Offer "Compute"/"Recompute": the numbers are missing or stale, and no job is already computing them."""
    return not current and not (stats.job is not None and stats.job.is_active)


def perception_is_current(stats: PerceptionStats) -> bool:
    return bool(stats.stage) and stats.state == study_answers_state(study=stats.study)


def perception_file_path(*, stats: PerceptionStats, name: str) -> Path | None:
    """A file of the statistics folder by its plain name (no sub-folders, no escaping the folder)."""
    root = stats.out_path
    if root is None or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = root / name
    return path if path.is_file() else None


def perception_tables(stats: PerceptionStats) -> list[dict]:
    """Each table as {name, title, columns, rows} for the page, in TABLE_TITLES order."""
    tables = stats.summary.get("tables", {})
    out = []
    for name, title in TABLE_TITLES.items():
        rows = tables.get(name)
        if rows is None:
            continue
        columns = list(rows[0]) if rows else []
        out.append(
            {"name": name, "title": title, "columns": columns, "rows": [[r.get(c) for c in columns] for r in rows]}
        )
    return out


def perception_failure(job: Job | None) -> str:
    """What a failed statistics job tells the page: the input error's own message, or the kind of failure
    and where to look; never the traceback or a server path (those stay on the job page for admins)."""
    if job is None or job.status != Job.Status.FAILED:
        return ""
    first = (job.error or "").strip().splitlines()[0] if (job.error or "").strip() else ""
    kind, _, message = first.partition(": ")
    if kind == "PerceptionInputError" and message:
        return f"The answers cannot be analysed as they are: {message}"
    name = kind if kind.isidentifier() else "an error"
    return f"The statistics could not be computed ({name}). The previous numbers, if any, are shown below."


def perception_published(stats: PerceptionStats) -> list[dict]:
    """The published effect per question, formatted once (3 significant digits, halves up) for the page."""
    from analysis.core.perception.text import fmt_num, fmt_p

    out = []
    for r in stats.summary.get("tables", {}).get("published", []):
        estimable = r.get("estimate") is not None
        out.append(
            {
                **r,
                "estimate_text": fmt_num(r["estimate"]) if estimable else "",
                "ci_text": f"{fmt_num(r['ci_low'])}–{fmt_num(r['ci_high'])}" if estimable else "",
                "p_text": fmt_p(r["p"]) if estimable else "",
                "p_holm_text": fmt_p(r["p_holm"]) if r.get("p_holm") is not None else "",
            }
        )
    return out


def perception_figures(stats: PerceptionStats) -> list[dict]:
    return [
        {"name": name, "caption": caption, "formats": FIGURE_FORMATS}
        for name, caption in FIGURE_CAPTIONS.items()
        if perception_file_path(stats=stats, name=f"{name}.png")
    ]


def perception_figures_inline(stats: PerceptionStats) -> list[dict]:
    """Figures as data: URIs, for the self-contained HTML report."""
    out = []
    for fig in perception_figures(stats):
        data = perception_file_path(stats=stats, name=f"{fig['name']}.png").read_bytes()
        out.append({**fig, "data_uri": "data:image/png;base64," + base64.b64encode(data).decode()})
    return out
