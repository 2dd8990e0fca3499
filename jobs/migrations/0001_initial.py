"""The Job model moves from the pruning app to this one. The table (pruning_job) and its rows stay where
they are: this migration only changes Django's idea of which app owns the model.

It depends on pruning's migrations because they created the table (on a fresh database they run first);
that is a dependency of the migration history only: no code of this app imports pruning.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("pruning", "0004_small_arch"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(max_length=64)),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed"), ("cancelled", "Cancelled")], db_index=True, default="queued", max_length=16)),
                        ("params", models.JSONField(blank=True, default=dict)),
                        ("result", models.JSONField(blank=True, default=dict)),
                        ("error", models.TextField(blank=True)),
                        ("enqueue_error", models.TextField(blank=True)),
                        ("progress_done", models.PositiveIntegerField(default=0)),
                        ("progress_total", models.PositiveIntegerField(default=0)),
                        ("progress_message", models.CharField(blank=True, max_length=255)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("artifact_dir", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                        ("parent", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="children", to="jobs.job")),
                    ],
                    options={
                        "db_table": "pruning_job",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["kind", "status"], name="pruning_job_kind_90524a_idx")],
                    },
                ),
            ],
        ),
    ]
