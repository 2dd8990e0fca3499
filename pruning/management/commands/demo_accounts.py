"""Create (or reset) the demo accounts: one admin, one researcher and two readers."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from config.roles import READERS, RESEARCHERS

DEMO_ACCOUNTS = [
    # username, password, group, is_superuser
    ("admin", "admin-demo", None, True),
    ("researcher", "researcher-demo", RESEARCHERS, False),
    ("reader1", "reader1-demo", READERS, False),
    ("reader2", "reader2-demo", READERS, False),
]


class Command(BaseCommand):
    help = "Create the demo accounts (admin, researcher, reader1, reader2) with known passwords."

    def handle(self, *args, **options):
        if not (settings.DEBUG or settings.DEMO):
            # These passwords are printed in the README: on a real deployment they would reset the admin's.
            raise CommandError(
                "demo_accounts sets published passwords (admin / admin-demo, ...) and runs only with DEMO=1 "
                "(or DEBUG=1). "
                "On a real deployment use `manage.py createsuperuser` and `manage.py invite_reader`."
            )
        User = get_user_model()
        for username, password, group, superuser in DEMO_ACCOUNTS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = superuser
            user.save()
            if group:
                user.groups.add(Group.objects.get_or_create(name=group)[0])
            self.stdout.write(f"  {username:<11} / {password}")
