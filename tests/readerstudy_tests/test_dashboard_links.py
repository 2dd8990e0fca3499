"""The dashboard shows flag comments, reading times and answer changes; study, experiment, report and
statistics link to each other."""

import pytest
from django.urls import reverse

from analysis.models import Report
from pruning.models import Dataset, Experiment
from readerstudy import services
from readerstudy.models import Assignment, Case, CaseReading

from .conftest import answer_all

pytestmark = pytest.mark.django_db


def test_dashboard_lists_flag_comments_reading_minutes_and_answer_changes(study, reader_a, researcher_client):
    answer_all(reader_a, study, quality=3)
    first = Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader_a).order[0])
    services.answers_submit(reader=reader_a, case=first, values={"quality": 5}, complete=True)  # a change
    reading = CaseReading.objects.get(assignment__reader=reader_a, case=first)
    CaseReading.objects.filter(pk=reading.pk).update(flagged=True, flag_comment="Rotated <b>film</b>\nsecond line")
    CaseReading.objects.filter(assignment__reader=reader_a).update(server_seconds=30)
    page = researcher_client.get(reverse("readerstudy:dashboard", args=[study.pk])).content.decode()
    assert 'data-testid="flags"' in page and "Rotated &lt;b&gt;film&lt;/b&gt;<br>second line" in page
    pseudonym = Assignment.objects.get(study=study, reader=reader_a).pseudonym
    assert f'data-testid="changes-{pseudonym}">1<' in page
    assert '<td class="num">3.0</td>' in page  # 6 cases x 30 s = 3.0 reading minutes


def test_study_statistics_experiment_and_report_link_to_each_other(study, researcher_client, researcher):
    dataset = Dataset.objects.create(name="d", kind="synthetic", spec={})
    experiment = Experiment.objects.create(dataset=dataset, name="e", arch="tiny", seeds=[0], sparsities=[0.0])
    report = Report.objects.create(
        title="r", source=Report.Source.PRUNECXR, experiment=experiment, created_by=researcher
    )
    study.source = {"kind": "pie_selection", "selection_id": 1, "experiment_id": experiment.pk}
    study.save(update_fields=["source"])
    dashboard = researcher_client.get(reverse("readerstudy:dashboard", args=[study.pk])).content.decode()
    assert reverse("pruning:experiment_detail", args=[experiment.pk]) in dashboard
    assert reverse("analysis:perception", args=[study.pk]) in dashboard
    stats = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    assert reverse("analysis:report_detail", args=[report.pk]) in stats
    assert reverse("pruning:experiment_detail", args=[experiment.pk]) in stats
    report_page = researcher_client.get(reverse("analysis:report_detail", args=[report.pk])).content.decode()
    assert reverse("readerstudy:dashboard", args=[study.pk]) in report_page
    assert reverse("analysis:perception", args=[study.pk]) in report_page
