import django.db.models.deletion
from django.db import migrations, models


def link_selections(apps, schema_editor):
    """Reports made before this field found their selection by its table's path: store that link once."""
    Report = apps.get_model("analysis", "Report")
    PIESelection = apps.get_model("pruning", "PIESelection")
    for report in Report.objects.exclude(pie_table_path="").filter(pie_selection__isnull=True):
        selection = PIESelection.objects.filter(table_path=report.pie_table_path).order_by("-pk").first()
        if selection is not None:
            Report.objects.filter(pk=report.pk).update(pie_selection=selection)


class Migration(migrations.Migration):

    dependencies = [
        ("analysis", "0003_perception_stats"),
        ("pruning", "0005_job_moved_to_jobs_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="pie_selection",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="pruning.pieselection",
            ),
        ),
        migrations.RunPython(link_selections, migrations.RunPython.noop),
    ]
