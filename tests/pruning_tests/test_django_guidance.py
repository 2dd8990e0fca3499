"""Pages that guide the admin: a queued step says what it waits for (never a bare "0/0"), each stage links
to the next, the learning curves are drawn from history.csv while a seed trains, and the admin's home is
an overview of experiments, reports and studies."""

import io

import pytest
from PIL import Image

from jobs.execution import job_run
from jobs.models import Job
from jobs.selectors import waiting_reason
from pruning.models import Experiment

from .test_django_views import _experiment_post, page

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def fanned_out(admin_client_, synthetic_dataset):
    """An experiment whose parent job has queued one train job per seed (no worker runs them)."""
    admin_client_.post("/experiments/new/", _experiment_post(synthetic_dataset))
    experiment = Experiment.objects.get()
    job_run(job_id=experiment.job_id)
    return experiment


def test_a_queued_step_names_the_step_ahead_of_it_and_the_steps_to_come_say_what_they_wait_for(
    fanned_out, admin_client_
):
    first, second = fanned_out.job.children.order_by("id")
    Job.objects.filter(pk=first.pk).update(status=Job.Status.RUNNING)
    text = page(admin_client_.get(f"/experiments/{fanned_out.pk}/"))
    assert "after seed 0 · train (running)" in text
    assert "after training of seed 0" in text and "after training of seed 1" in text
    assert "after every seed is swept" in text and "after the PIE selection" in text
    assert "0/0" not in text
    assert waiting_reason(Job.objects.get(pk=second.pk)) == f"after #{first.pk} train one seed (running)"


def test_a_job_with_nothing_ahead_waits_for_a_worker_on_its_queue(fanned_out, admin_client_):
    first = fanned_out.job.children.order_by("id").first()
    assert waiting_reason(first) == "waiting for a worker on the gpu queue"
    status = admin_client_.get(f"/jobs/status.json?ids={first.pk}").json()["jobs"][0]
    assert status["waiting"] == "waiting for a worker on the gpu queue"


def test_learning_curves_are_drawn_from_history_while_a_seed_trains(fanned_out, admin_client_):
    run = fanned_out.runs.get(seed=0)
    Job.objects.filter(pk=run.job_id).update(status=Job.Status.RUNNING)
    run.out_dir.mkdir(parents=True, exist_ok=True)
    assert b'data-testid="live-curves"' in admin_client_.get(f"/experiments/{fanned_out.pk}/").content
    before = admin_client_.get(f"/experiments/{fanned_out.pk}/seed-0/curves.png")  # no epoch yet: empty axes
    assert before.status_code == 200 and before["Content-Type"] == "image/png"
    rows = "epoch,phase,loss,mauc,map\n1,train,0.7,0.5,0.2\n1,val,0.69,0.52,0.21\n"
    rows += "2,train,0.6,0.6,0.3\n2,val,0.65,0.55,0.25\n"
    (run.out_dir / "history.csv").write_text(rows)
    after = admin_client_.get(f"/experiments/{fanned_out.pk}/seed-0/curves.png")
    assert after.status_code == 200 and after["Cache-Control"] == "no-store"
    assert Image.open(io.BytesIO(after.content)).size == (1200, 350) and after.content != before.content


def test_the_admins_home_is_an_overview_with_live_experiments(fanned_out, admin_client_, researcher_client):
    assert admin_client_.get("/").url == "/overview/"
    text = page(admin_client_.get("/overview/"))
    for part in ("Experiments", "Reports", "Reader studies", f'data-job="{fanned_out.job_id}"', "New experiment"):
        assert part in text, part
    assert researcher_client.get("/overview/").status_code == 200
    experiments = page(admin_client_.get("/experiments/"))
    assert f'data-job="{fanned_out.job_id}"' in experiments and 'class="progress"' in experiments


def test_the_status_poll_explains_every_queued_job_with_one_query(fanned_out, django_assert_num_queries):
    from jobs.selectors import waiting_reasons

    first, second = fanned_out.job.children.order_by("id")
    with django_assert_num_queries(1):
        reasons = waiting_reasons([first, second])
    assert reasons == {
        first.pk: "waiting for a worker on the gpu queue",
        second.pk: f"after #{first.pk} train one seed (queued)",
    }
