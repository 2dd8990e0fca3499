"""Reader-study fixtures: tiny grayscale PNG candidates, and a small built study with two readers."""

import pytest

from .factories import make_candidates, make_png  # noqa: F401  (tests import them from here too)


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT.mkdir()
    return settings.ARTIFACT_ROOT


@pytest.fixture
def candidates(tmp_path):
    return make_candidates(tmp_path / "src", n_pie=8, n_non=8)


@pytest.fixture
def study(artifacts, candidates, reader_a, reader_b, admin_user, researcher):
    """Open study: 2 forms x 6 cases (3 PIE + 3 non-PIE), reader A on form 1, reader B on form 2; the
    researcher is a collaborator."""
    from readerstudy import builder, services

    s = builder.study_create_from_candidates(
        title="Small study",
        candidates=candidates,
        n_forms=2,
        cases_per_form=6,
        readers=[reader_a, reader_b],
        seed=7,
        created_by=admin_user,
        source={"kind": "test"},
    )
    services.study_grant(study=s, user=researcher)
    return services.study_open(study=s)


def answer_all(reader, study, *, quality=3, difficulty=2, agree="yes", upto=None):
    """Rate the reader's cases in their order (all, or the first `upto`)."""
    from readerstudy import services
    from readerstudy.models import Assignment, Case

    assignment = Assignment.objects.get(study=study, reader=reader)
    for case_id in assignment.order[:upto]:
        services.answers_submit(
            reader=reader,
            case=Case.objects.get(pk=case_id),
            values={"agree_label": agree, "quality": quality, "difficulty": difficulty},
            complete=True,
        )
    return assignment
