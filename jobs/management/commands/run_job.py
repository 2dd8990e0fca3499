"""Run a queued job in this process, without a worker (useful on a GPU box without a broker)."""

from django.core.management.base import BaseCommand, CommandError

from jobs.execution import job_run
from jobs.models import Job


class Command(BaseCommand):
    help = "Claim and run one queued job here (no Celery worker needed)."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)

    def handle(self, *args, job_id: int, **options):
        if not Job.objects.filter(pk=job_id).exists():
            raise CommandError(f"No job with id {job_id}.")
        status = job_run(job_id=job_id)
        self.stdout.write(f"job {job_id}: {status}")
        if status != Job.Status.SUCCEEDED:
            raise CommandError(Job.objects.get(pk=job_id).error or f"job {job_id} ended {status}")
