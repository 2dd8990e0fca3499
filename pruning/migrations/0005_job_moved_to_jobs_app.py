"""Job now belongs to the jobs app (same table): point the foreign keys there and forget pruning.Job.
State only; the database is untouched. analysis.0002 moves its own foreign key first (run_before)."""

import django.db.models.deletion
from django.db import migrations, models


def _job_fk():
    return models.ForeignKey(
        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="jobs.job"
    )


class Migration(migrations.Migration):
    dependencies = [("pruning", "0004_small_arch"), ("jobs", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                *(
                    migrations.AlterField(model_name=model, name="job", field=_job_fk())
                    for model in ("experiment", "trainingrun", "pruningsweep", "pieselection")
                ),
                migrations.DeleteModel(name="Job"),
            ],
        ),
        migrations.RenameField(
            model_name="experiment", old_name="analysis_requested_at", new_name="follow_ups_requested_at"
        ),
    ]
