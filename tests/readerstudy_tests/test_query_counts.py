"""Query counts of the reader's hot paths, pinned so that per-request work cannot creep back.

Before issue 10 the next-case endpoint made 22 queries (progress computed twice, the case fetched three
times), save & next 40 and each autosave 15, and a GET of a case wrote to the database. Issue 22 (plain SQL,
readerstudy.hotpath) took them from 6 to 4 (next case), 13 to 11 (autosave), 20 to 14 (save & next) and
8 to 5 ("viewed"). On PostgreSQL a save's reads after the lock and its writes each go in one round trip
(`hotpath.Batch`: several statements, one execute), which is what is counted here: autosave 5, save & next 5
(its next case's "viewed" and payload join the save's writes), "viewed" 3, with sessions from Redis as deployed; SQLite
runs the statements one by one. The counts include the session (SQLite: from the database) and user
look-ups and, in tests, the SAVEPOINT statements of the atomic blocks.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from readerstudy.models import Assignment, Case

from .factories import with_assignment

pytestmark = pytest.mark.django_db


def LIMIT(sqlite: int, postgresql: int) -> int:  # noqa: N802 (reads as a table of limits)
    """The pinned count on this test run's database (PostgreSQL: batched statements; sessions from Redis, or
    one more query without it)."""
    if connection.vendor != "postgresql":
        return sqlite
    return postgresql + (settings.SESSION_ENGINE != "django.contrib.sessions.backends.cached_db")


SUBMIT = reverse("readerstudy:api-answer-submit")
ALL = {"agree_label": "yes", "quality": 3, "difficulty": 2}


@pytest.fixture
def reading(study, reader_a, reader_a_client):
    """Reader A half way: two cases finished, on case 3."""
    client = reader_a_client
    order = Assignment.objects.get(study=study, reader=reader_a).order
    tokens = list(Case.objects.filter(pk__in=order).values_list("pk", "token"))
    token = dict(tokens)
    for case_id in order[:2]:
        body = with_assignment(client, {"case": token[case_id], "answers": ALL, "complete": True})
        assert client.post(SUBMIT, body, content_type="application/json").status_code == 200
    return client, study, [token[c] for c in order]


def test_next_case_is_a_handful_of_reads(reading, django_assert_max_num_queries):
    client, study, _ = reading
    with django_assert_max_num_queries(LIMIT(4, 3)):
        r = client.get(reverse("readerstudy:api-reader-next", args=[study.pk]))
    assert r.status_code == 200 and r.json()["position"] == 3


def test_a_case_by_position_is_a_handful_of_reads(reading, django_assert_max_num_queries):
    client, study, _ = reading
    with django_assert_max_num_queries(LIMIT(4, 3)):
        assert client.get(reverse("readerstudy:api-reader-case", args=[study.pk, 2])).status_code == 200


def test_autosave_of_one_answer(reading, django_assert_max_num_queries):
    client, study, tokens = reading
    body = with_assignment(client, {"case": tokens[2], "answers": {"quality": 4}})
    with django_assert_max_num_queries(LIMIT(11, 5)):
        assert client.post(SUBMIT, body, content_type="application/json").status_code == 200


def test_changing_an_answer(reading, django_assert_max_num_queries):
    client, study, tokens = reading
    body = with_assignment(client, {"case": tokens[0], "answers": {"quality": 1}})
    with django_assert_max_num_queries(LIMIT(11, 5)):
        assert client.post(SUBMIT, body, content_type="application/json").status_code == 200


def test_save_and_next_returns_the_next_case_and_starts_its_clock(reading, django_assert_max_num_queries):
    client, study, tokens = reading
    body = with_assignment(client, {"case": tokens[2], "answers": ALL, "complete": True})
    with django_assert_max_num_queries(LIMIT(13, 5)):
        r = client.post(SUBMIT, body, content_type="application/json")
    assert r.status_code == 200 and r.json()["next"]["position"] == 4


def test_viewed(reading, django_assert_max_num_queries):
    client, study, _ = reading
    with django_assert_max_num_queries(LIMIT(5, 3)):
        assert client.post(reverse("readerstudy:api-reader-viewed", args=[study.pk, 3])).status_code == 200


def test_reading_page(reading, django_assert_max_num_queries):
    client, study, _ = reading
    # The page's role checks (page, menu) ask the group table once (config.roles.group_names; 3 times before).
    with django_assert_max_num_queries(LIMIT(7, 6)):
        assert client.get(reverse("readerstudy:read", args=[study.pk, 3])).status_code == 200


def test_image_is_one_query_after_session_and_user(reading, django_assert_max_num_queries):
    client, study, tokens = reading
    with django_assert_max_num_queries(LIMIT(3, 2)):
        r = client.get(reverse("readerstudy:image", args=[tokens[2]]))
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"\x89PNG")
