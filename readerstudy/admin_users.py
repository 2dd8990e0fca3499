"""The Django admin's user pages, with the one rule the reader study adds: an account is a reader, or a
researcher/admin, never both (config.roles.is_reader). A group or staff change that would mix them is a form
error naming the fix; accounts that already mix (made before the rule, or in a shell) are listed as a warning.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q, QuerySet

from config.roles import READERS, RESEARCHERS

User = get_user_model()

MIXED = (
    "An account is either a reader or a researcher/admin, never both: anyone who sees hidden study data "
    "(PIE tables, PIE status) could unblind what they read. Take it out of the '{readers}' group (its answers "
    "stay) and give the person a separate reader account, or leave it a reader only."
)


def _mixes(groups, is_staff: bool, is_superuser: bool) -> bool:
    names = {g.name for g in groups}
    return READERS in names and (RESEARCHERS in names or is_staff or is_superuser)


class RoleCheckMixin:
    def clean(self):
        data = super().clean()
        instance = self.instance
        groups = data.get("groups", instance.groups.all() if instance.pk else [])
        is_staff = data.get("is_staff", instance.is_staff)
        is_superuser = data.get("is_superuser", instance.is_superuser)
        if _mixes(groups, is_staff, is_superuser):
            raise forms.ValidationError(MIXED.format(readers=READERS))
        return data


class RoleCheckedChangeForm(RoleCheckMixin, UserAdmin.form):
    pass


class RoleCheckedUserAdmin(UserAdmin):
    form = RoleCheckedChangeForm

    def changelist_view(self, request, extra_context=None):
        from django.contrib import messages

        for name in dual_role_names():
            messages.warning(request, f"{name}: " + MIXED.format(readers=READERS))
        return super().changelist_view(request, extra_context)


def dual_role_names(users: QuerySet | None = None) -> list[str]:
    """Usernames of accounts that are readers and also researchers, staff or superusers."""
    users = User.objects.all() if users is None else users
    mixed = users.filter(groups__name=READERS).filter(
        Q(is_staff=True) | Q(is_superuser=True) | Q(pk__in=User.objects.filter(groups__name=RESEARCHERS).values("pk"))
    )
    return sorted(set(mixed.values_list("username", flat=True)))


def dual_role_readers(assignments: QuerySet) -> list[str]:
    """Usernames of dual-role accounts that hold an assignment (they read nothing until fixed)."""
    return dual_role_names(User.objects.filter(pk__in=assignments.values("reader_id")))


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, RoleCheckedUserAdmin)
