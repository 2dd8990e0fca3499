"""Cases, PIEs, answers and hidden-repeat pairs have one definition (readerstudy.counts), and the dashboard,
the demo's output and the statistics quote the same numbers for the same study."""

import re

import pytest
from django.urls import reverse

from analysis.demo import DemoRun, simulate, stage_statistics
from analysis.demo_scales import demo_scale
from analysis.models import PerceptionStats
from readerstudy import builder, services
from readerstudy.counts import study_counts
from readerstudy.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def study_with_repeats(artifacts, candidates, reader_a, reader_b, admin_user, researcher):
    """2 forms x 6 cases (3 PIE + 3 non-PIE), 1 anchor shared by both, 2 hidden repeats per form."""
    anchor = next(c.source_image_id for c in candidates if c.is_pie)
    s = builder.study_create_from_candidates(
        title="Counted study", candidates=candidates, n_forms=2, cases_per_form=6, anchor_ids=[anchor],
        repeat_cases=2, readers=[reader_a, reader_b], seed=3, created_by=admin_user, source={"kind": "test"},
    )  # fmt: skip
    services.study_grant(study=s, user=researcher)
    return services.study_open(study=s)


def test_the_dashboard_the_demo_and_the_statistics_agree_on_every_count(
    study_with_repeats, researcher_client, admin_user
):
    study = study_with_repeats
    admin_user.username = "admin"  # the demo chain acts as the demo's admin account
    admin_user.save(update_fields=["username"])
    lines = []
    run = DemoRun(scale=demo_scale("tiny"), here=True, write=lines.append)
    run.objects["study"] = study
    simulated = simulate(run, study)
    counts = study_counts(study=study)

    # Known answers: 11 distinct images (the anchor once), 5 of them PIEs (3 + 3 - 1), 4 hidden repeats.
    assert (counts.cases, counts.pies, counts.repeats) == (11, 5, 4)
    assert counts.cases == Case.objects.filter(study=study).count() - counts.repeats
    # Every simulated reader rates 6 cases and 2 repeats on 3 rated questions (the real readers none yet).
    n_readers = run.scale.simulated_readers
    assert counts.answers == n_readers * 6 * 3 and counts.repeat_answers == n_readers * 2 * 3
    assert counts.repeat_pairs == n_readers * 2

    page = researcher_client.get(reverse("readerstudy:dashboard", args=[study.pk])).content.decode()
    assert f'data-testid="n-cases">{counts.cases}<' in page
    assert f"cases ({counts.pies} PIEs) + {counts.repeats} hidden repeats" in page
    assert f"{counts.answers} answers, {counts.repeat_pairs} hidden-repeat pairs" in page

    assert f"gave {counts.answers} answers to {counts.cases} cases and {counts.repeat_answers} to hidden repeats" in (
        simulated
    )
    assert f"({counts.repeat_pairs} repeat pairs)" in simulated

    line = stage_statistics(run)
    assert f": {counts.answers} answers, {counts.repeat_pairs} repeat pairs" in line
    summary = PerceptionStats.objects.get(study=study).summary
    assert summary["n_answers"] == counts.answers and summary["n_repeat_pairs"] == counts.repeat_pairs
    intra = summary["tables"]["agreement_intra"]
    assert intra and all(row["n_pairs"] == counts.repeat_pairs for row in intra)

    stats_page = researcher_client.get(reverse("analysis:perception", args=[study.pk])).content.decode()
    found = re.search(r"(\d+) answers from \d+ readers on (\d+) cases, (\d+) hidden-repeat pairs", stats_page)
    assert found and (int(found[1]), int(found[3])) == (counts.answers, counts.repeat_pairs)
