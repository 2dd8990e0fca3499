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
]  # the demo's simulated readers are created by the demo chain, flagged as simulated


class Command(BaseCommand):
    help = "Create the demo accounts (admin, researcher, reader1, reader2) with known passwords."

    def add_arguments(self, parser):
        parser.add_argument(
            "--local-demo", action="store_true", help="Called by `manage.py demo`, which runs with DEBUG off."
        )

    def handle(self, *args, local_demo: bool = False, **options):
        # `make demo` runs with DEBUG off (real 404/500 pages) yet is a demo: it says so explicitly.
        if not (settings.DEBUG or local_demo):
            # These passwords are printed in the README: on a real deployment they would reset the admin's.
            raise CommandError(
                "demo_accounts sets published passwords (admin / admin-demo, ...) and runs only with DEBUG=1. "
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
