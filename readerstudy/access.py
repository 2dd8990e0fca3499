"""Who may see a study's hidden side (researcher access), and who may read it blinded.

One module, so that pages, the API, services and exports ask the same question the same way:

- researcher access to a study: admins (all studies), else a member of the researchers group who owns the
  study (`created_by`) or is one of its collaborators;
- reading a study: a member of the readers group with an assignment in a non-draft study who is *not* in
  the researchers group, not staff, not superuser (the roles never mix: a researcher of any study can read
  every PIE table, so matching images would unblind them), and not owner/collaborator of that study.
  `readable_assignments` is the one place every reader request (pages, API, images, answers) passes through;
  it re-checks all of this in the same single query at every request, since roles change while a study runs.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from config.roles import READERS, RESEARCHERS, is_admin, is_researcher
from readerstudy.models import Assignment, Study

User = AbstractBaseUser | AnonymousUser


def _grant_q(user: AbstractBaseUser, prefix: str = "") -> Q:
    """Studies the user owns or collaborates on (regardless of group membership)."""
    return Q(**{f"{prefix}created_by": user}) | Q(**{f"{prefix}collaborators": user})


def researcher_studies(user: User) -> QuerySet[Study]:
    """The studies whose hidden side `user` may see (none for readers and anonymous users)."""
    if is_admin(user):
        return Study.objects.all()
    if not is_researcher(user):
        return Study.objects.none()
    return Study.objects.filter(pk__in=Study.objects.filter(_grant_q(user)).values("pk"))


def has_researcher_access(user: User, study: Study) -> bool:
    return researcher_studies(user).filter(pk=study.pk).exists()


def is_granted(user: AbstractBaseUser, study: Study) -> bool:
    """Staff, owner or collaborator of `study`: someone who must never read it blinded."""
    if is_admin(user):
        return True
    return Study.objects.filter(_grant_q(user), pk=study.pk).exists()


def readable_assignments(user: User) -> QuerySet[Assignment]:
    """Assignments `user` may work on now (one query, re-run at every reader request)."""
    if not user.is_authenticated or is_admin(user):
        return Assignment.objects.none()
    memberships = get_user_model().groups.through.objects.filter(user_id=OuterRef("reader_id"))
    in_readers = Exists(memberships.filter(group__name=READERS))
    in_researchers = Exists(memberships.filter(group__name=RESEARCHERS))
    granted = Study.objects.filter(_grant_q(user)).values("pk")
    return (
        Assignment.objects.filter(in_readers, ~in_researchers, reader=user)
        .exclude(study__status=Study.Status.DRAFT)
        .exclude(study_id__in=granted)
    )


def study_jobs_q(user: User, field: str) -> Q:
    """Filter (on jobs.Job) for the jobs of a per-study kind that `user` may see: those whose JSON `field`
    ("params__study_id", "result__study_id") names a study the user is granted, and those the user started.
    Registered as the kind's `visible_q`, so /jobs/ never shows a study's title or params to a stranger."""
    ids = list(researcher_studies(user).values_list("pk", flat=True))
    return Q(created_by=user) | Q(**{f"{field}__in": ids}) if ids else Q(created_by=user)
