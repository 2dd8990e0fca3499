"""Report.job points at jobs.Job (the same table as the old pruning.Job): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analysis", "0001_initial"), ("jobs", "0001_initial")]
    # Before pruning forgets its Job model, nothing may still point at it.
    run_before = [("pruning", "0005_job_moved_to_jobs_app")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="report",
                    name="job",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="analysis_reports",
                        to="jobs.job",
                    ),
                ),
            ],
        ),
    ]
