"""The New-experiment form has a quick CPU preset next to the paper's defaults."""

import pytest

from .test_study_admin import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_quick_preset_fills_a_cpu_sized_experiment_and_the_paper_preset_restores_the_paper(
    live_server, page, admin_user
):
    login(page, live_server.url + "/", admin_user)
    page.wait_for_url("**/overview/")
    page.goto(live_server.url + "/experiments/new/")
    form = "#experiment-form"
    assert page.input_value(f"{form} [name=arch]") == "resnet50"
    page.get_by_role("button", name="Quick (CPU, minutes)").click()
    values = {n: page.input_value(f"{form} [name={n}]") for n in ("arch", "init", "seeds", "epochs", "image_size")}
    assert values == {"arch": "small", "init": "random", "seeds": "0-3", "epochs": "10", "image_size": "64"}
    page.get_by_role("button", name="Paper (GPU)").click()
    assert page.input_value(f"{form} [name=epochs]") == "60" and page.input_value(f"{form} [name=arch]") == "resnet50"
