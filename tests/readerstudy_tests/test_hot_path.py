"""The reader hot path in plain SQL (readerstudy.hotpath) answers exactly as the ORM definitions it replaces:
the access rule of readerstudy.access, and the output serializers' allow-lists."""

import pytest
from django.contrib.auth.models import Group

from config.roles import READERS
from readerstudy import api_serializers as out
from readerstudy import hotpath, selectors
from readerstudy.access import readable_assignments
from readerstudy.models import Assignment

pytestmark = pytest.mark.django_db


def _same_state(user, study) -> None:
    expected = readable_assignments(user).filter(study_id=study.pk).first()
    state = hotpath.reader_state(reader=user, study_id=study.pk)
    assert (state[0].pk if state else None) == (expected.pk if expected else None)


def test_reader_state_follows_the_access_rule_as_roles_change(study, reader_a, reader_b, admin_user, researcher):
    for user in (reader_a, reader_b, admin_user, researcher):
        _same_state(user, study)
    assert hotpath.reader_state(reader=reader_a, study_id=study.pk) is not None
    study.collaborators.add(reader_a)  # granted: must no longer read it blinded
    _same_state(reader_a, study)
    assert hotpath.reader_state(reader=reader_a, study_id=study.pk) is None
    study.collaborators.remove(reader_a)
    reader_b.groups.remove(Group.objects.get(name=READERS))  # left the readers group
    _same_state(reader_b, study)
    assert hotpath.reader_state(reader=reader_b, study_id=study.pk) is None


def test_reader_image_is_refused_once_the_reader_is_made_staff(study, reader_a):
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    token = study.cases.get(pk=assignment.order[0]).token
    assert hotpath.reader_image(reader=reader_a, token=token)
    reader_a.is_staff = True
    assert hotpath.reader_image(reader=reader_a, token=token) is None


def test_allow_list_matches_drf_and_drops_undeclared_fields(study, reader_a):
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    progress = selectors.reader_progress(assignment=assignment)
    payload = selectors.reader_case_payload(assignment=assignment, position=1, progress=progress)
    assert out.allowed(out.ReaderCaseSerializer, payload) == out.ReaderCaseSerializer(payload).data
    leaky = {**payload, "is_pie": True, "case": {**payload["case"], "source_image_id": "P0001.png"}}
    shown = out.allowed(out.ReaderCaseSerializer, leaky)
    assert "is_pie" not in shown and "source_image_id" not in shown["case"]
    assert shown == out.ReaderCaseSerializer(payload).data
    result = {"saved": {"quality": 3}, "position": 1, "case_completed": True, "form_completed": False,
              "next_position": 2, "next": leaky}  # fmt: skip
    assert out.allowed(out.SubmitResultSerializer, result) == out.SubmitResultSerializer(result).data


@pytest.mark.parametrize(
    "body",
    [
        {"case": "tok", "assignment": 5, "answers": {"quality": 3}},
        {"case": "tok", "assignment": 5, "answers": {"quality": 3}, "complete": True, "active_ms": 900},
        {"case": " tok ", "assignment": 5, "answers": {}},
        {"case": "tok", "assignment": True, "answers": {}},
        {"case": "tok", "assignment": 0, "answers": {}},
        {"case": "tok", "assignment": "5", "answers": {}, "complete": "true"},
        {"case": "tok", "assignment": 5, "answers": {}, "active_ms": -1},
        {"case": "t\x00k", "assignment": 5, "answers": {}},
        {"case": "tok", "assignment": 2**63, "answers": {}},
    ],
)
def test_plain_submission_check_agrees_with_the_serializer_or_defers_to_it(body):
    from readerstudy.api import AnswerSubmitSerializer, _plain_submission

    plain = _plain_submission(body)
    data = AnswerSubmitSerializer(data=body)
    if plain is not None:  # accepted by the fast check: the serializer accepts it too, with the same values
        assert data.is_valid() and dict(data.validated_data) == plain
    else:  # deferred: the serializer decides (and words any error)
        assert body != {"case": "tok", "assignment": 5, "answers": {"quality": 3}}
