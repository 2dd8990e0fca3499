"""Study options on the New-study form: an optional confidence rating (answered, exported, never required)
and keeping window/level across cases (off by default; the reading page's bootstrap carries it)."""

import io

import pandas as pd
import pytest
from django.urls import reverse

from readerstudy import exports, services
from readerstudy.models import Assignment, Case, Study

pytestmark = pytest.mark.django_db


def _new_study(admin_client_, monkeypatch, candidates, reader_a, **extra):
    from readerstudy import sources

    monkeypatch.setattr(sources, "pie_selection_choices", lambda: [("7", "NIH · 90% · 5%")])
    monkeypatch.setattr(
        sources, "candidates_from_pie_selection", lambda v: (candidates, {"kind": "pie_selection", "id": v})
    )
    fields = {
        "source": "selection", "sel-selection": "7", "sel-title": "Options", "sel-n_forms": 2,
        "sel-cases_per_form": 6, "sel-pie_fraction": 0.5, "sel-readers_per_form": 1, "sel-repeat_cases": 0,
        "sel-seed": 1, "sel-allow_back": "on", "sel-readers": [reader_a.pk], **extra,
    }  # fmt: skip
    r = admin_client_.post(reverse("readerstudy:new"), fields)
    assert r.status_code == 302, r.content.decode()[:2000]
    return Study.objects.get(title="Options")


def test_an_optional_confidence_rating_is_asked_exported_and_never_required(
    artifacts, candidates, admin_client_, monkeypatch, reader_a
):
    study = _new_study(admin_client_, monkeypatch, candidates, reader_a, **{"sel-add_confidence": "on"})
    keys = list(study.questions.values_list("key", flat=True))
    assert keys == ["agree_label", "quality", "difficulty", "confidence"]
    assert not study.questions.get(key="confidence").required and study.design["keep_window"] is False
    services.study_open(study=study)
    order = Assignment.objects.get(study=study, reader=reader_a).order
    first, second = Case.objects.get(pk=order[0]), Case.objects.get(pk=order[1])
    paper = {"agree_label": "yes", "quality": 3, "difficulty": 2}
    services.answers_submit(reader=reader_a, case=first, values={**paper, "confidence": 4}, complete=True)
    services.answers_submit(reader=reader_a, case=second, values=paper, complete=True)  # no confidence: fine
    tidy = pd.read_csv(io.StringIO(exports.tidy_csv(study=study)))
    confidence = tidy[tidy.question == "confidence"]
    assert confidence[["case_id", "value_numeric"]].values.tolist() == [[first.pk, 4]]


def test_keeping_window_level_is_a_study_option_off_by_default(
    artifacts, candidates, admin_client_, monkeypatch, reader_a
):
    study = _new_study(admin_client_, monkeypatch, candidates, reader_a, **{"sel-keep_window": "on"})
    assert study.design["keep_window"] is True
    services.study_open(study=study)
    from readerstudy.selectors import study_reader_fields

    assert study_reader_fields(study)["keep_window"] is True
