"""Researcher data is per owner: an experiment's PIE table, its report (pies.csv included), its jobs and its
dataset's generating parameters reach its owner, those granted a study built from it, and admins; another
researcher gets 404s and an overview without them (failed jobs included)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from analysis.models import Report
from config.roles import RESEARCHERS
from jobs.models import Job
from pruning.models import PIESelection
from readerstudy.models import Study

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings, tmp_path, django_user_model, synthetic_dataset, tiny_fields, admin_user):
    from pruning.services_experiments import experiment_create

    group = Group.objects.get_or_create(name=RESEARCHERS)[0]
    users = {}
    for name in ("owner", "granted", "stranger"):
        users[name] = django_user_model.objects.create_user(name, password="x")
        users[name].groups.add(group)
    users["admin"] = admin_user
    experiment = experiment_create(start=False, **tiny_fields(synthetic_dataset))
    type(experiment).objects.filter(pk=experiment.pk).update(created_by=users["owner"])
    table = tmp_path / "pies.csv"
    table.write_text("image_id,is_pie\r\nimg1,1\r\n")
    selection = PIESelection.objects.create(experiment=experiment, table_path=str(table))
    study = Study.objects.create(
        title="Built", created_by=users["admin"], source={"kind": "pie_selection", "experiment_id": experiment.pk}
    )
    study.collaborators.add(users["granted"])
    out = tmp_path / "report"
    out.mkdir()
    (out / "pies.csv").write_text("image_index,image_id,correlation,is_pie\r\n0,img1,0.1,1\r\n")
    report = Report.objects.create(title="R", source="experiment", experiment=experiment, out_dir=str(out))
    jobs = {
        "synthetic": Job.objects.create(kind="make_synthetic", params={"name": synthetic_dataset.name, "seed": 5}),
        "pies": Job.objects.create(kind="select_pies", params={"selection_id": selection.pk}),
        "report": Job.objects.create(kind="analysis", params={"report_id": report.pk}, status=Job.Status.FAILED),
    }
    return {"users": users, "experiment": experiment, "selection": selection, "report": report, "jobs": jobs}


def _urls(world) -> list[str]:
    e, s, r = world["experiment"], world["selection"], world["report"]
    return [
        reverse("pruning:experiment_detail", args=[e.pk]),
        reverse("pruning:pie_table", args=[s.pk]),
        reverse("analysis:report_detail", args=[r.pk]),
        reverse("analysis:report_file", args=[r.pk, "pies.csv"]),
        *(reverse("jobs:job_detail", args=[j.pk]) for j in world["jobs"].values()),
    ]


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("granted", 200), ("admin", 200), ("stranger", 404)])
def test_pie_tables_reports_and_their_jobs_reach_only_owner_granted_and_admins(world, role, status):
    client = Client()
    client.force_login(world["users"][role])
    got = {url: client.get(url).status_code for url in _urls(world)}
    assert got == dict.fromkeys(got, status)


def test_the_overview_and_lists_show_a_stranger_none_of_it(world):
    client = Client()
    client.force_login(world["users"]["stranger"])
    overview = client.get(reverse("overview")).context
    assert overview["experiments"] == [] and overview["reports"] == [] and overview["failed_jobs"] == []
    assert list(client.get(reverse("pruning:experiment_list")).context["experiments"]) == []
    assert list(client.get(reverse("analysis:home")).context["reports"]) == []
    page = client.get(reverse("jobs:job_list")).content.decode()
    assert f"/jobs/{world['jobs']['synthetic'].pk}/" not in page and f"/jobs/{world['jobs']['report'].pk}/" not in page
    owner = Client()
    owner.force_login(world["users"]["owner"])
    assert [j.pk for j in owner.get(reverse("overview")).context["failed_jobs"]] == [world["jobs"]["report"].pk]
