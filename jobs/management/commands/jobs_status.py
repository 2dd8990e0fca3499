"""What the /jobs/ page shows, on the command line: queues, workers, and where each active job stands."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from jobs import selectors
from jobs.broker import broker_status
from jobs.models import Job


class Command(BaseCommand):
    help = "Queues (workers online, last seen, messages waiting) and every queued or running job: why it waits, ETA."

    def handle(self, *args, **options):
        now = timezone.now()
        ok, detail = broker_status()
        self.stdout.write(f"Broker: {'reachable' if ok else detail}")
        for q in selectors.queue_overview(now=now, broker=ok):
            length = "unknown (broker unreachable)" if q["length"] is None else q["length"]
            self.stdout.write(
                f"\nQueue {q['name']}: {q['n_online']} worker(s) online, {length} message(s) waiting, "
                f"{q['queued']} job(s) queued, {q['running']} running"
            )
            for w in q["workers"]:
                state = "online" if w["online"] else "offline"
                self.stdout.write(f"  worker {w['name']}: {state}, last seen {w['seen_ago']} s ago")
            if not q["workers"]:
                self.stdout.write("  no worker listening")
        active = list(Job.objects.filter(status__in=Job.ACTIVE).order_by("created_at", "pk"))
        self.stdout.write(f"\n{len(active)} active job(s)")
        online = selectors.online_by_queue(now=now)
        for job in active:
            where = selectors.job_waiting_text(job, online, now=now)
            progress = f"{job.progress_done}/{job.progress_total} {job.progress_message}".strip()
            self.stdout.write(
                f"  #{job.pk} {job.kind_label} [{job.status}] {progress}" + (f" — {where}" if where else "")
            )
