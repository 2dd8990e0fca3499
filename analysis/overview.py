"""The admin's home: what is running, what finished, and the next step of each stage, on one page.

Analysis sits on top of the other apps, so it is the one place that may read experiments, reports and
studies together (see tests/platform_tests/test_app_dependencies.py)."""

from typing import Any

from analysis.models import Report
from jobs.models import Job
from pruning.models import Experiment
from readerstudy.access import researcher_studies
from readerstudy.models import Assignment, CaseReading

RECENT = 5


def overview(*, user) -> dict[str, Any]:
    """`user` sees only the studies they have researcher access to (owner, collaborator; admins all)."""
    experiments = list(Experiment.objects.select_related("dataset", "job").order_by("-created_at", "-id")[:RECENT])
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
        "reports": list(Report.objects.select_related("job", "created_by").order_by("-created_at", "-id")[:RECENT]),
        "studies": studies,
        "failed_jobs": list(Job.objects.filter(status=Job.Status.FAILED, parent__isnull=True).order_by("-id")[:RECENT]),
        "n_active_jobs": Job.objects.filter(status__in=Job.ACTIVE).count(),
    }
