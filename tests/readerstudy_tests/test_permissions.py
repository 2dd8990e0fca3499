"""Permission matrix: anonymous, reader A, reader B, researcher and admin against every page and endpoint.

The study here is read by reader A only; reader B reads another study, so for B every page of this one
must look like it does not exist (404), never like "forbidden but there".
"""

import pytest
from django.urls import URLPattern, reverse

from readerstudy import builder, services
from readerstudy.models import Answer, Assignment, Case
from readerstudy.urls import urlpatterns

from .factories import with_assignment

pytestmark = pytest.mark.django_db

ROLES = ("anon", "reader_a", "reader_b", "researcher", "admin")
LOGIN = "/accounts/login/"


@pytest.fixture
def solo(artifacts, candidates, reader_a, reader_b, admin_user, researcher):
    s = builder.study_create_from_candidates(
        title="Solo", candidates=candidates, n_forms=1, cases_per_form=4, readers=[reader_a], seed=3, allow_review=True
    )
    other = builder.study_create_from_candidates(
        title="Other", candidates=candidates, n_forms=1, cases_per_form=4, readers=[reader_b], seed=4
    )
    services.study_open(study=other)
    services.study_grant(study=s, user=researcher)
    return services.study_open(study=s)


def matrix(study):
    a = Assignment.objects.get(study=study)
    token = Case.objects.get(pk=a.order[0]).token
    pk = study.pk
    u = lambda name, *args: reverse(f"readerstudy:{name}", args=args)  # noqa: E731
    #    name               method  url                                  anon reader_a reader_b researcher admin
    return [
        ("home", "get", u("home"), 302, 200, 200, 200, 200),
        ("new", "get", u("new"), 302, 403, 403, 403, 200),
        ("intro", "get", u("intro", pk), 302, 200, 404, 302, 302),
        ("read_resume", "get", u("read_resume", pk), 302, 302, 404, 404, 404),
        ("read", "get", u("read", pk, 1), 302, 200, 404, 404, 404),
        ("done", "get", u("done", pk), 302, 302, 404, 404, 404),
        # Review of reference labels (Solo allows it): reader A is sent to their cases until finished; B reads
        # another study, so it does not exist for them; researchers have the dashboard instead.
        ("review", "get", u("review", pk), 302, 302, 404, 404, 404),
        ("image", "get", u("image", token), 302, 200, 404, 200, 200),
        ("dashboard", "get", u("dashboard", pk), 302, 403, 403, 200, 200),
        ("consent", "get", u("consent", pk), 302, 302, 404, 404, 404),
        ("practice", "get", u("practice", pk), 302, 302, 404, 404, 404),
        ("practice_image", "get", u("practice_image", "nosuch"), 302, 404, 404, 404, 404),
        ("image_full", "get", u("image_full", token), 302, 404, 404, 404, 404),  # not a DICOM case
        ("protocol", "get", u("protocol", pk), 302, 403, 403, 200, 200),
        ("set_status", "post", u("set_status", pk), 302, 403, 403, 403, 302),
        # draft-only actions on an open study: admins get a message and a redirect, nothing changes
        ("readers", "post", u("readers", pk), 302, 403, 403, 403, 302),
        ("clone", "post", u("clone", pk), 302, 403, 403, 403, 302),
        ("delete", "post", u("delete", pk), 302, 403, 403, 403, 302),
        ("preview", "get", u("preview", pk, 1, 1), 302, 403, 403, 403, 200),
        ("preview_case", "get", u("preview_case", pk, 1, 1), 302, 403, 403, 403, 200),
        ("export_tidy", "get", u("export_tidy", pk), 302, 403, 403, 200, 200),
        ("export_via_zip", "get", u("export_via_zip", pk), 302, 403, 403, 200, 200),
        ("export_via", "get", u("export_via", pk, a.pseudonym), 302, 403, 403, 200, 200),
        ("export_flags", "get", u("export_flags", pk), 302, 403, 403, 200, 200),
        ("api-studies", "get", u("api-studies"), 403, 200, 200, 200, 200),
        ("api-study", "get", u("api-study", pk), 403, 200, 404, 200, 200),
        ("api-reader-next", "get", u("api-reader-next", pk), 403, 200, 404, 404, 404),
        ("api-reader-case", "get", u("api-reader-case", pk, 1), 403, 200, 404, 404, 404),
        ("api-study-answers", "get", u("api-study-answers", pk), 403, 200, 404, 200, 200),
        ("api-study-cases", "get", u("api-study-cases", pk), 403, 403, 403, 200, 200),
        ("api-reader-viewed", "post", u("api-reader-viewed", pk, 1), 403, 200, 404, 404, 404),
        ("api-answer-submit", "post", u("api-answer-submit"), 403, 200, 403, 403, 403),
        ("api-case-flag", "post", u("api-case-flag"), 403, 200, 403, 403, 403),
    ]


def test_the_matrix_covers_every_url_of_the_app(solo):
    names = {p.name for p in urlpatterns if isinstance(p, URLPattern)}
    assert {row[0] for row in matrix(solo)} == names


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(solo, role, client, reader_a, reader_b, researcher, admin_user):
    user = {"reader_a": reader_a, "reader_b": reader_b, "researcher": researcher, "admin": admin_user}.get(role)
    if user is not None:
        client.force_login(user)
    token = Case.objects.get(pk=Assignment.objects.get(study=solo).order[0]).token
    bodies = {
        "set_status": {"action": "open"},  # re-opening an open study: allowed for admins, changes nothing
        "readers": {"remove": [reader_a.pk]},  # refused: the study is open
        "clone": {},
        "delete": {},  # refused: the study is open
        "api-answer-submit": with_assignment(client, {"case": token, "answers": {"agree_label": "yes"}}),
        "api-reader-viewed": {},
        "api-case-flag": {"case": token, "flagged": True, "comment": "blurred"},
    }
    failures = []
    for name, method, url, *expected in matrix(solo):
        want = expected[ROLES.index(role)]
        if method == "get":
            r = client.get(url)
        elif name.startswith("api"):
            r = client.post(url, bodies[name], content_type="application/json")
        else:
            r = client.post(url, bodies[name])
        if r.status_code != want:
            failures.append(f"{name}: {r.status_code} != {want}")
        elif role == "anon" and want == 302 and not r.url.startswith(LOGIN):
            failures.append(f"{name}: anonymous redirected to {r.url}, not the login page")
        elif r.status_code in (403, 404) and name.startswith("api") and "detail" not in r.json():
            failures.append(f"{name}: API error without a JSON detail")
    assert failures == []
    # Only reader A's own submission may have written anything.
    assert Answer.objects.count() == (1 if role == "reader_a" else 0)
