"""Who may see an experiment's researcher data: its PIE selections, PIE tables, run files, reports and jobs.

A PIE table says which test image is a PIE, and a synthetic dataset re-renders from its job's parameters with
its hidden truth, so a researcher who sees them could unblind any study built from them. They are per owner,
as studies are: admins see everything; a researcher sees the experiments they created, and those that a
study they are granted (owner or collaborator, readerstudy.access) was built from. Everything else answers
404 (existence stays hidden), and job lists leave those jobs out.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from config.roles import is_admin, is_researcher
from pruning.models import Dataset, Experiment, PIESelection
from readerstudy.access import researcher_studies

User = AbstractBaseUser | AnonymousUser


def _granted_experiment_ids(user: User) -> list[int]:
    built = researcher_studies(user).filter(source__kind="pie_selection")
    return [int(pk) for pk in built.values_list("source__experiment_id", flat=True) if pk is not None]


def experiments_visible(user: User) -> QuerySet[Experiment]:
    if is_admin(user):
        return Experiment.objects.all()
    if not is_researcher(user):
        return Experiment.objects.none()
    return Experiment.objects.filter(Q(created_by=user) | Q(pk__in=_granted_experiment_ids(user)))


def selections_visible(user: User) -> QuerySet[PIESelection]:
    return PIESelection.objects.filter(experiment__in=experiments_visible(user))


def datasets_visible(user: User) -> QuerySet[Dataset]:
    """Datasets whose generating parameters the user may see: their own, and those of visible experiments."""
    if is_admin(user):
        return Dataset.objects.all()
    return Dataset.objects.filter(Q(created_by=user) | Q(experiments__in=experiments_visible(user))).distinct()


# --- job kinds' visible_q (jobs.kinds.JobKind): Q on jobs.Job -------------------------------------------


def _ids(user: User) -> list[int]:
    return list(experiments_visible(user).values_list("pk", flat=True))


def experiment_jobs_q(user: User) -> Q:
    return Q(created_by=user) | Q(params__experiment_id__in=_ids(user))


def child_jobs_q(user: User) -> Q:
    """Train and sweep jobs: children of an experiment's job."""
    return Q(created_by=user) | Q(parent__params__experiment_id__in=_ids(user))


def selection_jobs_q(user: User) -> Q:
    return Q(created_by=user) | Q(params__selection_id__in=list(selections_visible(user).values_list("pk", flat=True)))


def synthetic_jobs_q(user: User) -> Q:
    """Its parameters (size, seed) regenerate the dataset with its hidden truth."""
    return Q(created_by=user) | Q(params__name__in=list(datasets_visible(user).values_list("name", flat=True)))
