"""The admin's home: what is running, what finished, and the next step of each stage, on one page.

Analysis sits on top of the other apps, so it is the one place that may read experiments, reports and
studies together (see tests/platform_tests/test_app_dependencies.py)."""

from typing import Any

from analysis.reports.selectors import reports_visible
from jobs.models import Job
from jobs.selectors import jobs_visible_to
from pruning.visibility import experiments_visible
from readerstudy.access import researcher_studies
from readerstudy.models import Assignment, CaseReading

RECENT = 5


def overview(*, user) -> dict[str, Any]:
    """`user` sees only what they may: studies they have researcher access to (owner, collaborator), the
    experiments and reports of those (pruning.visibility) and the jobs jobs_visible_to lists; admins all."""
    experiments = list(
        experiments_visible(user).select_related("dataset", "job").order_by("-created_at", "-id")[:RECENT]
    )
    studies = list(researcher_studies(user).order_by("-created_at", "-id")[:RECENT])
    assigned = {s.pk: 0 for s in studies}
    for a in Assignment.objects.filter(study__in=studies).only("study_id", "order"):
        assigned[a.study_id] += len(a.order)
    for s in studies:
        s.n_read = CaseReading.objects.filter(assignment__study=s, completed_at__isnull=False).count()
        s.n_assigned = assigned[s.pk]
        s.percent = round(100 * s.n_read / s.n_assigned) if s.n_assigned else 0
    return {
        "experiments": experiments,
        "reports": list(
            reports_visible(user).select_related("job", "created_by").order_by("-created_at", "-id")[:RECENT]
        ),
        "studies": studies,
        "failed_jobs": list(
            jobs_visible_to(user).filter(status=Job.Status.FAILED, parent__isnull=True).order_by("-id")[:RECENT]
        ),
        "n_active_jobs": jobs_visible_to(user).filter(status__in=Job.ACTIVE).count(),
    }
