"""The JSON API: a reader's flow (studies, next case, submit) and the researchers' data."""

import pytest
from django.urls import reverse

from readerstudy.models import Answer, Assignment, Case

from .factories import with_assignment

pytestmark = pytest.mark.django_db
SUBMIT = reverse("readerstudy:api-answer-submit")


def post(client, body):
    return client.post(SUBMIT, with_assignment(client, body), content_type="application/json")


def test_reader_lists_own_studies_and_gets_the_next_case(study, reader_a, reader_a_client):
    r = reader_a_client.get(reverse("readerstudy:api-studies")).json()
    mine = Assignment.objects.get(reader=reader_a).pk
    # The reader sees the neutral reader-facing title, never the researchers' "Small study".
    title = f"Reader study {study.pk}"
    assert r == {
        "assigned": [
            {"id": study.pk, "assignment": mine, "title": title, "status": "open", "done": 0, "total": 6,
             "finished": False}
        ]
    }  # fmt: skip
    nxt = reader_a_client.get(reverse("readerstudy:api-reader-next", args=[study.pk])).json()
    assert nxt["finished"] is False and nxt["position"] == 1 and nxt["case"]["image_url"].startswith("/study/image/")


def test_reader_rates_a_whole_form_through_the_api(study, reader_a, reader_a_client):
    url = reverse("readerstudy:api-reader-next", args=[study.pk])
    for k in range(6):
        case = reader_a_client.get(url).json()
        body = {
            "case": case["case"]["id"],
            "answers": {"agree_label": "no", "quality": 2, "difficulty": 4},
            "complete": True,
            "active_ms": 1500,
        }
        r = post(reader_a_client, body)
        assert r.status_code == 200, r.json()
        assert r.json()["position"] == k + 1
        assert (r.json().get("next") or {}).get("position") == (k + 2 if k < 5 else None)
    assert reader_a_client.get(url).json() == {"finished": True, "done": 6, "total": 6}
    mine = reader_a_client.get(reverse("readerstudy:api-study-answers", args=[study.pk])).json()["answers"]
    assert len(mine) == 18 and set(mine[0]) == {"position", "case", "question", "value", "answered_at", "updated_at"}


@pytest.mark.parametrize(
    ("answers", "status", "detail"),
    [
        ({"quality": 0}, 400, "How would you rate the image quality?: Enter a whole number from 1 (Poor) to 5"),
        ({"quality": 6}, 400, "(got 6)"),
        ({"difficulty": "abc"}, 400, "(got 'abc')"),
        ({"agree_label": "perhaps"}, 400, "Answer yes or no"),
    ],
)
def test_bad_values_get_a_clear_message_and_change_nothing(study, reader_a, reader_a_client, answers, status, detail):
    token = Case.objects.get(pk=Assignment.objects.get(reader=reader_a).order[0]).token
    r = post(reader_a_client, {"case": token, "answers": answers})
    assert r.status_code == status and detail in r.json()["detail"]
    assert not Answer.objects.exists()


def test_missing_required_answer_blocks_save_and_next(study, reader_a, reader_a_client):
    token = Case.objects.get(pk=Assignment.objects.get(reader=reader_a).order[0]).token
    r = post(reader_a_client, {"case": token, "answers": {"agree_label": "yes", "quality": 3}, "complete": True})
    assert r.status_code == 400 and r.json()["errors"] == {"difficulty": "This question needs an answer."}
    assert not Answer.objects.exists()


def test_answer_for_a_case_not_assigned_is_refused(study, reader_a, reader_b_client):
    token = Case.objects.get(pk=Assignment.objects.get(reader=reader_a).order[0]).token
    for case in (token, "no-such-token"):
        r = post(reader_b_client, {"case": case, "answers": {"agree_label": "yes"}})
        assert r.status_code == 403 and r.json()["detail"] == "This case is not assigned to you."
    assert not Answer.objects.exists()


def test_malformed_submission_is_refused(study, reader_a_client):
    r = post(reader_a_client, {"answers": "yes"})
    assert r.status_code == 400 and set(r.json()["errors"]) == {"case", "answers", "assignment"}


def test_researcher_gets_cases_with_hidden_fields_and_tidy_answers(study, reader_a, researcher_client):
    from .conftest import answer_all

    answer_all(reader_a, study, upto=2)
    cases = researcher_client.get(reverse("readerstudy:api-study-cases", args=[study.pk])).json()["cases"]
    assert len(cases) == 12 and {"is_pie", "source_image_id", "correlation", "hidden_truth"} <= set(cases[0])
    answers = researcher_client.get(reverse("readerstudy:api-study-answers", args=[study.pk])).json()["answers"]
    assert len(answers) == 6 and answers[0]["reader"] == "R01" and "is_pie" in answers[0]
    detail = researcher_client.get(reverse("readerstudy:api-study", args=[study.pk])).json()
    assert detail["design"]["pies_per_form"] == 3 and detail["readers"][0]["done"] == 2


def test_openapi_schema_documents_the_reader_study_endpoints(researcher_client):
    r = researcher_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    paths = r.json()["paths"] if r["Content-Type"].startswith("application/json") else r.content.decode()
    for p in ("/study/api/studies/", "/study/api/answers/", "/study/api/studies/{id}/cases/{position}/"):
        assert p in paths


def test_the_stored_seed_recreates_the_order_the_reader_was_shown(study, reader_a, reader_a_client):
    from readerstudy.design import presentation_order

    shown = []
    for _ in range(6):
        case = reader_a_client.get(reverse("readerstudy:api-reader-next", args=[study.pk])).json()
        shown.append(case["case"]["id"])
        body = {"case": shown[-1], "answers": {"agree_label": "yes", "quality": 1, "difficulty": 1}, "complete": True}
        assert post(reader_a_client, body).status_code == 200
    a = Assignment.objects.get(study=study, reader=reader_a)
    cases = dict(Case.objects.filter(forms=a.form).values_list("pk", "is_pie"))
    recreated = presentation_order(list(cases), a.seed, is_pie=cases)
    assert [Case.objects.get(pk=pk).token for pk in recreated] == shown


# --- the OpenAPI schema describes what the API returns -------------------------------------------------


def _component(schema: dict, node: dict) -> dict:
    ref = node.get("$ref") or (node.get("allOf") or [{}])[0].get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else node


def test_every_api_response_has_a_typed_schema_not_a_bare_object():
    """Each endpoint's 200 response (each variant, for the role-dependent ones) names its fields, and each
    error status it documents is the {detail, errors} shape."""
    from .openapi_check import api_schema

    schema = api_schema()
    operations = [
        (path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items() if "/api/" in path
    ]
    assert len(operations) >= 11
    for path, method, op in operations:
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        body = _component(schema, ok)
        variants = [_component(schema, v) for v in body.get("oneOf", [body])]
        for variant in variants:
            assert variant.get("type") == "object" and variant.get("properties"), f"{method} {path}: untyped"
            assert variant.get("required"), f"{method} {path}: no required field"
        errors = [s for s in op["responses"] if s.startswith("4")]
        assert errors, f"{method} {path}: no error response documented"
        for status in errors:
            error = _component(schema, op["responses"][status]["content"]["application/json"]["schema"])
            assert set(error["properties"]) == {"detail", "errors"}, f"{method} {path} {status}"


def test_reader_and_researcher_responses_conform_to_the_schema(study, reader_a, reader_a_client, researcher_client):
    """Every endpoint, driven with real ids as a reader and as a researcher, answers in the shape the schema
    gives for that status (so the schema is a contract, not a guess)."""
    from .openapi_check import api_schema, schema_errors

    schema = api_schema()
    token = Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader_a).order[0]).token
    pk = study.pk
    calls = [
        (reader_a_client, "get", reverse("readerstudy:api-studies"), None),
        (reader_a_client, "get", reverse("readerstudy:api-study", args=[pk]), None),
        (reader_a_client, "get", reverse("readerstudy:api-reader-next", args=[pk]), None),
        (reader_a_client, "get", reverse("readerstudy:api-reader-case", args=[pk, 1]), None),
        (reader_a_client, "post", reverse("readerstudy:api-reader-viewed", args=[pk, 1]), None),
        (
            reader_a_client,
            "post",
            SUBMIT,
            with_assignment(
                reader_a_client,
                {"case": token, "answers": {"agree_label": "no", "quality": 2, "difficulty": 4}, "complete": True},
            ),
        ),
        (reader_a_client, "post", SUBMIT, with_assignment(reader_a_client, {"case": token, "answers": {"x": 1}})),
        (reader_a_client, "post", reverse("readerstudy:api-case-flag"), {"case": token, "flagged": True}),
        (reader_a_client, "get", reverse("readerstudy:api-study-answers", args=[pk]), None),
        (reader_a_client, "get", reverse("readerstudy:api-study-cases", args=[pk]), None),
        (reader_a_client, "get", reverse("readerstudy:api-reader-case", args=[pk, 99]), None),
        (researcher_client, "get", reverse("readerstudy:api-studies"), None),
        (researcher_client, "get", reverse("readerstudy:api-study", args=[pk]), None),
        (researcher_client, "get", reverse("readerstudy:api-study-answers", args=[pk]), None),
        (researcher_client, "get", reverse("readerstudy:api-study-cases", args=[pk]), None),
        (researcher_client, "get", reverse("analysis:api-perception", args=[pk]), None),
    ]
    problems, statuses = [], []
    for client, method, url, body in calls:
        r = client.get(url) if method == "get" else client.post(url, body or {}, content_type="application/json")
        statuses.append(r.status_code)
        problems += schema_errors(schema, url, method, r.status_code, r.json())
    assert problems == []
    assert statuses.count(200) == 13 and sorted(set(statuses) - {200}) == [400, 403, 404]
