"""Building a study from candidates: rows, forms, image copies, assignments."""

from pathlib import Path

import pytest
from PIL import Image

from readerstudy import builder, errors, services
from readerstudy.design import DesignError, presentation_order
from readerstudy.models import Assignment, Case, Form, Question, Study

from .conftest import make_candidates

pytestmark = pytest.mark.django_db


def test_default_questions_are_the_papers_three(study):
    qs = list(study.questions.values_list("text", "kind", "options"))
    assert qs == [
        ("Do you fully agree with the label?", "yes_no", []),
        ("How would you rate the image quality?", "likert", ["Poor", "Fair", "Good", "Very good", "Excellent"]),
        (
            "How difficult would you consider it to properly diagnose this image?",
            "likert",
            ["Very easy", "Easy", "Moderate", "Difficult", "Very difficult"],
        ),
    ]


def test_built_forms_are_balanced_and_assigned_round_robin(study, reader_a, reader_b):
    for form in Form.objects.filter(study=study):
        flags = list(form.cases.values_list("is_pie", flat=True))
        assert len(flags) == 6 and sum(flags) == 3
    a = Assignment.objects.get(study=study, reader=reader_a)
    b = Assignment.objects.get(study=study, reader=reader_b)
    assert (a.form.number, a.pseudonym, b.form.number, b.pseudonym) == (1, "R01", 2, "R02")
    assert study.design["pies_per_form"] == 3 and study.source == {"kind": "test"}


def test_anchor_cases_are_in_every_form_of_a_built_study(artifacts, candidates, admin_user):
    anchors = [candidates[0].source_image_id, candidates[15].source_image_id]
    s = builder.study_create_from_candidates(
        title="A", candidates=candidates, n_forms=3, cases_per_form=4, anchor_ids=anchors, created_by=admin_user
    )
    anchor_cases = set(Case.objects.filter(study=s, is_anchor=True).values_list("pk", flat=True))
    assert len(anchor_cases) == 2
    for form in s.forms.all():
        ids = set(form.cases.values_list("pk", flat=True))
        assert anchor_cases <= ids and len(ids) == 4
        assert form.cases.filter(is_pie=True).count() == 2


def test_case_images_are_metadata_free_copies_under_opaque_names(study, candidates, artifacts):
    by_id = {c.source_image_id: c for c in candidates}
    for case in Case.objects.filter(study=study):
        path = artifacts / case.image
        assert path.name == f"{case.token}.png" and path.parent == artifacts / "readerstudy" / str(study.pk)
        assert case.source_image_id not in case.image
        data = path.read_bytes()
        assert b"secret-metadata" not in data and b"tEXt" not in data and b"iTXt" not in data
        with Image.open(path) as im, Image.open(by_id[case.source_image_id].image_path) as orig:
            assert im.mode == "L" and im.tobytes() == orig.tobytes()
        assert case.image_bytes == len(data)


def test_tokens_are_random_and_unrelated_to_pie_status(study):
    tokens = list(Case.objects.filter(study=study).values_list("token", flat=True))
    assert len(set(tokens)) == len(tokens) and all(len(t) >= 22 for t in tokens)


def test_stored_seed_recreates_each_readers_order(study):
    for a in Assignment.objects.filter(study=study):
        cases = list(a.form.cases.values_list("id", "is_pie"))
        assert sorted(a.order) == sorted(c[0] for c in cases)
        assert presentation_order([c[0] for c in cases], a.seed, is_pie=dict(cases)) == a.order


def test_hidden_repeats_are_extra_cases_with_their_own_token(artifacts, candidates, reader_a, admin_user):
    s = builder.study_create_from_candidates(
        title="R", candidates=candidates, n_forms=1, cases_per_form=8, repeat_cases=2, readers=[reader_a]
    )
    repeats = Case.objects.filter(study=s, repeat_of__isnull=False)
    assert repeats.count() == 2
    for r in repeats:
        assert r.token != r.repeat_of.token and r.source_image_id == r.repeat_of.source_image_id
    assert len(Assignment.objects.get(study=s).order) == 10


def test_failed_build_leaves_no_rows_and_no_files(artifacts, candidates, admin_user):
    candidates[3].image_path = Path(candidates[3].image_path).with_name("missing.png")
    with pytest.raises(ValueError, match=candidates[3].source_image_id):
        builder.study_create_from_candidates(title="X", candidates=candidates, n_forms=2, cases_per_form=8)
    assert not Study.objects.exists() and not Case.objects.exists()
    assert not any((artifacts / "readerstudy").glob("*/*.png"))


def test_builder_refuses_more_readers_than_seats_and_non_readers(artifacts, candidates, reader_a, reader_b, researcher):
    with pytest.raises(DesignError, match="2 readers do not fit 1 forms x 1"):
        builder.study_create_from_candidates(
            title="X", candidates=candidates, n_forms=1, cases_per_form=4, readers=[reader_a, reader_b]
        )
    with pytest.raises(DesignError, match=r"Not reader accounts .*: researcher1"):
        builder.study_create_from_candidates(
            title="X", candidates=candidates, n_forms=1, cases_per_form=4, readers=[researcher]
        )
    assert not Study.objects.exists()


def test_question_edits_are_refused_once_answered(study, reader_a):
    from .conftest import answer_all

    q = Question.objects.get(study=study, key="quality")
    services.question_update(question=q, text="Image quality?")
    answer_all(reader_a, study, upto=1)
    with pytest.raises(errors.QuestionLockedError, match="already has answers"):
        services.question_update(question=q, text="Changed")
    q.refresh_from_db()
    assert q.text == "Image quality?"


def test_study_needs_cases_to_open(artifacts, tmp_path, admin_user):
    s = Study.objects.create(title="Empty")
    with pytest.raises(errors.NotAllowedError, match="needs questions and cases"):
        services.study_open(study=s)


def test_large_default_design_builds_six_forms_of_forty(artifacts, tmp_path, admin_user):
    pool = make_candidates(tmp_path / "big", n_pie=120, n_non=200)
    s = builder.study_create_from_candidates(title="Paper design", candidates=pool, created_by=admin_user)
    forms = list(s.forms.all())
    assert len(forms) == 6
    for form in forms:
        assert form.cases.count() == 40 and form.cases.filter(is_pie=True).count() == 20
