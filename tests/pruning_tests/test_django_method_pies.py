"""Any method's PIEs can seed a reader study: a compared method's sweeps get a PIE selection at the method's
heavily-compressed level, it is offered when building a study, and it follows the per-owner visibility rules.
Also: IMP in the app (its parameters validated by field, its sweep fine-tuning on the experiment's training set)."""

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from config.roles import RESEARCHERS
from jobs.models import Job
from pruning import params
from pruning.forms import ExperimentForm
from pruning.models import PIESelection

pytest_plugins = ["tests.pruning_tests.django_support"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def imp_experiment(synthetic_dataset, tiny_fields, no_analysis, monkeypatch, django_user_model):
    from jobs.cli import run_tree_here
    from pruning.services_experiments import experiment_create

    monkeypatch.setenv("COMPRESS_COST_REPEATS", "0")
    owner = django_user_model.objects.create_user("owner", password="x")
    owner.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    fields = tiny_fields(
        synthetic_dataset,
        sparsities=[0, 0.5, 0.9],
        compare_methods=[{"method": "imp", "levels": [0, 0.5, 0.9]}],
        method_params={"imp": {"finetune_epochs": "2"}},
    )
    experiment = experiment_create(user=owner, **fields)
    assert experiment.method_params == {"imp": {"finetune_epochs": 2, "rewind": False}}
    assert run_tree_here(experiment.job.pk, lambda line: None) == Job.Status.SUCCEEDED
    return experiment


def test_a_compared_method_gets_its_own_pie_selection_from_its_own_stores(imp_experiment):
    from pruning.engine.store import PredictionSet, read_sidecar
    from pruning.models import MethodSweep

    experiment = imp_experiment
    kinds = sorted(experiment.job.children.values_list("kind", flat=True))
    assert kinds.count("select_pies") == 2 and kinds.count("method_sweep") == 2
    own = PIESelection.objects.of_experiment(experiment).get()
    imp = PIESelection.objects.of_experiment(experiment, sparsity=0.9, method="imp").get()
    assert own.is_done and imp.is_done and own.method_name == "l1" and imp.method_name == "imp"
    assert imp.summary["seeds"] == [0, 1] and imp.n_images == own.n_images
    # The IMP sweep fine-tuned with the experiment's parameters, and its PIEs come from its own predictions.
    sweep = MethodSweep.objects.filter(training_run__experiment=experiment, method="imp").first()
    side = read_sidecar(sweep.store_path)
    assert side["params"] == {"finetune_epochs": 2, "rewind": False}
    assert len(side["achieved"][repr(0.9)]["finetune"]["epoch_losses"]) == 2
    assert side["achieved"][repr(0.9)]["overall"] == pytest.approx(0.9, abs=1e-3)
    ps, primary = PredictionSet.load(sweep.store_path), PredictionSet.load(sweep.training_run.sweep.store_path)
    assert np.array_equal(ps.probs[0], primary.probs[0]) and not np.array_equal(ps.probs[2], primary.probs[2])
    assert experiment.job.__class__.objects.get(pk=experiment.job.pk).result["complete"] is True


def test_a_reader_study_can_be_built_from_the_compared_methods_pies(imp_experiment):
    from readerstudy import sources
    from readerstudy.builder import study_create_from_candidates

    imp = PIESelection.objects.get(experiment=imp_experiment, method="imp")
    choices = dict(sources.pie_selection_choices())
    assert "at imp level 0.9" in choices[str(imp.pk)]
    candidates, origin = sources.candidates_from_pie_selection(str(imp.pk))
    assert sum(c.is_pie for c in candidates) == imp.n_pies and len(candidates) == imp.n_images
    assert origin["method"] == "imp" and origin["selection_id"] == imp.pk
    assert origin["experiment_id"] == imp_experiment.pk
    study = study_create_from_candidates(
        title="IMP PIEs", candidates=candidates, n_forms=1, cases_per_form=4, pie_fraction=0.5, source=origin
    )
    assert study.source["method"] == "imp"


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("granted", 200), ("admin", 200), ("stranger", 404)])
def test_a_method_selection_reaches_only_the_owner_those_granted_its_study_and_admins(
    imp_experiment, django_user_model, admin_user, role, status
):
    from readerstudy import sources
    from readerstudy.models import Study

    imp = PIESelection.objects.get(experiment=imp_experiment, method="imp")
    _, origin = sources.candidates_from_pie_selection(str(imp.pk))
    study = Study.objects.create(title="IMP", created_by=admin_user, source=origin)
    group = Group.objects.get(name=RESEARCHERS)
    users = {"owner": django_user_model.objects.get(username="owner"), "admin": admin_user}
    for name in ("granted", "stranger"):
        users[name] = django_user_model.objects.create_user(name, password="x")
        users[name].groups.add(group)
    study.collaborators.add(users["granted"])
    client = Client()
    client.force_login(users[role])
    assert client.get(reverse("pruning:pie_table", args=[imp.pk])).status_code == status
    page = client.get(reverse("pruning:experiment_detail", args=[imp_experiment.pk]))
    assert page.status_code == status
    if status == 200:
        assert 'data-selection-method="imp"' in page.content.decode()
        assert (f'data-testid="build-study-{imp.pk}"' in page.content.decode()) == (role == "admin")


def form_data(synthetic_dataset, **overrides):
    data = {
        "dataset": synthetic_dataset.pk, "name": "q", "arch": "tiny", "seeds": "0", "epochs": 1, "image_size": 32,
        "init": "random", "batch_size": 8, "lr": 1e-3, "patience": 1, "prune_method": "imp",
        "sparsities": "", "pie_sparsity": "", "pie_q": 0.05, "pie_definition": "spearman",
        "compare_methods": "", "method_params": "",
    }  # fmt: skip
    return {**data, **overrides}


def test_the_form_offers_imp_with_its_default_levels_and_parameters(synthetic_dataset):
    form = ExperimentForm(form_data(synthetic_dataset, method_params="imp: finetune_epochs=3, rewind=yes"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["sparsities"] == [0.0, 0.2, 0.4, 0.6, 0.8, 0.9]
    assert form.cleaned_data["pie_sparsity"] == 0.9
    assert params.check_method_params(form.cleaned_data["method_params"], ["imp"]) == {
        "imp": {"finetune_epochs": 3, "rewind": True}
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"method_params": "imp: finetune_epochs=lots"}, "method_params", "imp: finetune_epochs must be a whole"),
        ({"method_params": "imp: finetune_epochs=101"}, "method_params", "finetune_epochs must be a whole number"),
        ({"method_params": "imp: rewind=perhaps"}, "method_params", "imp: rewind must be true or false"),
        ({"method_params": "imp: epochs=2"}, "method_params", "imp: unknown parameter 'epochs'"),
        ({"method_params": "imp finetune_epochs=2"}, "method_params", "must read 'method: name=value"),
        ({"prune_method": "l1", "method_params": "imp: rewind=1"}, "method_params", "'imp', which this experiment"),
        ({"sparsities": "0, 0.9, 0.5"}, "sparsities", "imp: sparsity levels must increase"),
    ],
)
def test_the_form_names_the_imp_field_that_is_wrong(synthetic_dataset, overrides, field, message):
    form = ExperimentForm(form_data(synthetic_dataset, **overrides))
    assert not form.is_valid()
    assert any(message in e for e in form.errors[field]), form.errors


def test_the_experiment_command_takes_method_parameters(synthetic_dataset):
    from pruning.management.cli import experiment_fields

    options = {
        "dataset": "syn", "seeds": "0", "prune_method": "l1", "sparsities": None, "compare": "imp: 0, 0.5, 0.9",
        "method_params": "imp: finetune_epochs=0", "arch": "tiny", "init": None, "name": "", "epochs": 1,
        "batch_size": 8, "lr": 1e-3, "patience": 1, "image_size": 32, "pie_sparsity": None, "pie_q": 0.05,
        "pie_definition": "spearman",
    }  # fmt: skip
    fields = experiment_fields(options)
    assert fields["method_params"] == {"imp": {"finetune_epochs": "0"}}
    assert fields["compare_methods"] == [{"method": "imp", "levels": [0.0, 0.5, 0.9]}]


def test_the_select_pies_command_selects_a_compared_methods_pies_at_other_settings(imp_experiment):
    from django.core.management import CommandError, call_command

    call_command("select_pies", "--experiment", str(imp_experiment.pk), "--method", "imp", "--q", "0.1")
    made = PIESelection.objects.of_experiment(imp_experiment, sparsity=0.9, q=0.1, method="imp").get()
    assert (
        made.is_done and made.n_pies >= PIESelection.objects.get(experiment=imp_experiment, method="imp", q=0.05).n_pies
    )
    with pytest.raises(CommandError, match=r"does not compare method 'nm' \(compared: imp\)"):
        call_command("select_pies", "--experiment", str(imp_experiment.pk), "--method", "nm")
    with pytest.raises(CommandError, match=r"sparsity 0.7 was not swept \(swept: \[0.0, 0.5, 0.9\]\)"):
        call_command("select_pies", "--experiment", str(imp_experiment.pk), "--method", "imp", "--sparsity", "0.7")
