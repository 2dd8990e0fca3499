"""Who is who. Admins are staff/superusers; readers and researchers are Django groups."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

READERS = "readers"
RESEARCHERS = "researchers"
GROUPS = (READERS, RESEARCHERS)


def actor(user: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser | None:
    """The user to record as the creator of a row: a logged-in user, else None (anonymous, a command, a job)."""
    return user if getattr(user, "is_authenticated", False) else None


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def in_group(user: AbstractBaseUser | AnonymousUser, name: str) -> bool:
    return bool(user.is_authenticated and name in group_names(user))


def group_names(user: AbstractBaseUser) -> frozenset[str]:
    """The user's group names, asked once per user object: a request's user lives for that request, whose
    role checks (page, menu, middleware) asked the group table up to three times. `user.groups.add/remove`
    on that same object forget them (`forget_group_names`); other objects of the user keep theirs, like
    Django's own permission cache."""
    names = getattr(user, "_group_names", None)
    if names is None:
        names = user._group_names = frozenset(user.groups.values_list("name", flat=True))
    return names


def forget_group_names(sender, instance, action: str, **kwargs) -> None:
    """m2m_changed receiver (connected in readerstudy's AppConfig.ready): a changed membership is asked again."""
    if action.startswith("post_") and hasattr(instance, "_group_names"):
        del instance._group_names


def is_researcher(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Researchers and admins see everything (reports, hidden fields, exports)."""
    return is_admin(user) or in_group(user, RESEARCHERS)


def is_reader(user: AbstractBaseUser | AnonymousUser) -> bool:
    """A member of the readers group who is neither admin nor researcher: the roles never mix, since anyone who
    may see a study's hidden side (PIE status, ground truth, PIE tables) could match it against blinded cases."""
    return in_group(user, READERS) and not is_researcher(user)


def is_dual_role(user: AbstractBaseUser | AnonymousUser) -> bool:
    """In the readers group and also an admin or researcher: such an account reads nothing (see is_reader)."""
    return in_group(user, READERS) and is_researcher(user)


DUAL_ROLE_MESSAGE = (
    "This account is also a researcher or admin, and those may never read a study blinded. "
    "Ask an admin for a separate reader account."
)


def reader_accounts():
    """Every account that may be given a form: active readers that are neither admin nor researcher."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(groups__name=READERS, is_active=True, is_staff=False, is_superuser=False)
        .exclude(groups__name=RESEARCHERS)
        .order_by("username")
    )


def roles_context(request) -> dict:
    user = request.user
    return {
        "is_admin": is_admin(user),
        "is_researcher": is_researcher(user),
        "is_reader": is_reader(user),
    }


def _require(predicate, what: str):
    """View decorator: 403 with a clear message (not a login loop) for logged-in users without the role."""
    from functools import wraps

    from django.core.exceptions import PermissionDenied

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not predicate(request.user):
                raise PermissionDenied(f"This page is for {what}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = _require(is_admin, "admins")
researcher_required = _require(is_researcher, "researchers and admins")
reader_required = _require(is_reader, "readers")
