"""Create a reader account (or add an existing user to the readers group) and optionally assign studies."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from config.commands import user_errors
from config.roles import READERS, is_admin, is_researcher
from readerstudy import services
from readerstudy.models import Study


class Command(BaseCommand):
    help = "Invite a radiologist: create the account in the 'readers' group and print a one-time password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Initial password (default: a random one, printed once).")
        parser.add_argument("--study", type=int, action="append", default=[], help="Assign to this study id.")

    def handle(self, *args, username, email, password, study, **options):
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                password = password or secrets.token_urlsafe(12)
                user = User.objects.create_user(username=username, email=email, password=password)
            elif is_admin(user) or is_researcher(user):
                raise CommandError(
                    f"{username} is an admin or researcher and sees hidden study fields; invite a separate "
                    "account for reading."
                )
            elif password:
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get_or_create(name=READERS)[0])
            for study_id in study:
                s = Study.objects.filter(pk=study_id).first()
                if s is None:
                    raise CommandError(f"No study with id {study_id}.")
                with user_errors():
                    a = services.assignment_create(study=s, reader=user)
                self.stdout.write(f"Assigned {username} to '{s.title}' form {a.form.number} as {a.pseudonym}.")
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created reader {username}. Password: {password}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{username} is in the readers group."))
