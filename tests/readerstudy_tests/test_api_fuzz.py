"""schemathesis against our OpenAPI schema, as a reader and as a researcher: every generated request (bounded
number per operation) gets an answer below 500; errors are 4xx with a JSON body; every JSON answer has the
shape the schema gives for its status (the output serializers are the contract)."""

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings

from .openapi_check import api_schema, schema_errors

pytestmark = pytest.mark.django_db
EXAMPLES = 12  # per operation and role: keeps the suite bounded


def _schema():
    return schemathesis.openapi.from_dict(api_schema())


def _send(client: Client, case):
    """The generated request through Django's test client (same database transaction as the test)."""
    kw = case.as_transport_kwargs(base_url="http://testserver")
    path = kw["url"].removeprefix("http://testserver")
    body = kw.get("json")
    if body is not None:
        import json

        query = "&".join(f"{k}={v}" for k, v in (kw.get("params") or {}).items())
        return client.generic(kw["method"], path, json.dumps(body), content_type="application/json", QUERY_STRING=query)
    return client.generic(kw["method"], path, kw.get("data") or b"", content_type="application/json")


@pytest.mark.parametrize("role", ["reader_a", "researcher"])
def test_no_generated_request_gets_a_server_error(study, role, request):
    client = Client()
    client.force_login(request.getfixturevalue(role))
    raw = api_schema()
    operations = [op.ok() for op in _schema().get_all_operations()]
    assert len(operations) >= 8
    failures, statuses = [], []
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case):
            try:
                response = _send(client, case)
            except Exception as exc:  # the test client re-raises a view's exception: a 500
                failures.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}"[:300])
                return
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            elif response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
                assert response.json(), case.formatted_path
            if response["Content-Type"].startswith("application/json"):
                path = case.formatted_path.split("?")[0]
                failures.extend(schema_errors(raw, path, case.method, response.status_code, response.json()))

        check()
    assert failures == []
    assert statuses.count(200) > 0 and any(400 <= s < 500 for s in statuses), "requests reached the views"
