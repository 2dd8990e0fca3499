# ruff: noqa: E501  (the matrix is a table: one aligned row per URL reads better than wrapped calls)
"""The permission matrix of the whole project, generated from the URLconf.

Every named URL pattern must have a row here (a test fails when a new page lacks one), and every row is
requested as each role: anonymous, reader A, reader B (the other form of the same study), the researcher
who owns the study, a researcher not granted on it, and an admin. Each cell is the expected status code.
Objects the pages address: one open study (2 forms, A on form 1, B on form 2), one job; pages of objects
this test does not build (experiments, reports, datasets' files) are asked for an id that does not
exist, which still separates "forbidden for this role" (403) from "allowed, but no such thing" (404).
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.roles import READERS, RESEARCHERS
from jobs.models import Job
from readerstudy import builder, services
from readerstudy.models import Answer, Assignment, Case
from tests.conftest import PASSWORD
from tests.readerstudy_tests.factories import make_candidates

pytestmark = pytest.mark.django_db

ROLES = ("anon", "reader_a", "reader_b", "owner", "stranger", "admin", "dual")
# "dual": an account made a reader of the study (form 1) and later put into the researchers group as well
# (made before roles were exclusive, or in a shell). It reads nothing: a stranger researcher's column, except
# that its reading requests get a clear 403 naming the problem instead of a 404.
DUAL_DIFFERS = {
    "readerstudy:intro": 403,
    "readerstudy:read_resume": 403,
    "readerstudy:read": 403,
    "readerstudy:done": 403,
    "readerstudy:review": 403,
    "readerstudy:api-study": 403,
    "readerstudy:api-reader-next": 403,
    "readerstudy:api-reader-case": 403,
    "readerstudy:api-reader-viewed": 403,
    "readerstudy:api-study-answers": 403,
}
MISSING = 987654  # an id no object has
LOGIN = "/accounts/login/"


def named_patterns(resolver=None, ns: str = "") -> set[str]:
    """'namespace:name' of every named URL of the project (the admin's own URLs are covered by /admin/)."""
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                names |= named_patterns(entry, ns + (f"{entry.namespace}:" if entry.namespace else ""))
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(ns + entry.name)
    return names


@pytest.fixture
def world(settings, tmp_path, django_user_model):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT.mkdir()

    def user(name, group=None, admin=False):
        u = django_user_model.objects.create_user(name, password=PASSWORD, is_staff=admin, is_superuser=admin)
        if group:
            u.groups.add(Group.objects.get_or_create(name=group)[0])
        return u

    users = {
        "reader_a": user("reader_a", READERS),
        "reader_b": user("reader_b", READERS),
        "owner": user("owner", RESEARCHERS),
        "stranger": user("stranger", RESEARCHERS),
        "admin": user("admin", admin=True),
        "dual": user("dual", READERS),
    }
    study = builder.study_create_from_candidates(
        title="Matrix",
        candidates=make_candidates(tmp_path / "src", n_pie=4, n_non=4),
        n_forms=2,
        cases_per_form=4,
        readers=[users["reader_a"], users["reader_b"]],
        created_by=users["owner"],
        allow_review=True,
    )
    services.assignment_create(study=study, reader=users["dual"])
    users["dual"].groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    services.study_open(study=study)
    job = Job.objects.create(kind="selfcheck", params={})
    # A job of the study (its statistics): only those granted the study see it (hole 8 on /jobs/).
    study_job = Job.objects.create(kind="perception", params={"study_id": study.pk, "state": "x"})
    return {"users": users, "study": study, "job": job, "study_job": study_job}


def matrix(world) -> list[tuple]:
    study, job = world["study"], world["job"]
    a = Assignment.objects.get(study=study, reader=world["users"]["reader_a"])
    token = Case.objects.get(pk=a.order[0]).token
    pk = study.pk
    u = reverse
    # fmt: off
    #  name                                method  url                                               anon a    b    own  str  admin
    return [
        ("home",                             "get",  u("home"),                                        302, 302, 302, 302, 302, 302),
        ("healthz",                          "get",  u("healthz"),                                     200, 200, 200, 200, 200, 200),
        ("no_role",                          "get",  u("no_role"),                                     302, 200, 200, 200, 200, 200),
        ("login",                            "get",  u("login"),                                       200, 302, 302, 302, 302, 302),
        ("api-schema",                       "get",  u("api-schema"),                                  403, 403, 403, 200, 200, 200),
        ("api-docs",                         "get",  u("api-docs"),                                    403, 403, 403, 200, 200, 200),
        ("jobs:job_list",                    "get",  u("jobs:job_list"),                               302, 403, 403, 200, 200, 200),
        ("jobs:job_status",                  "get",  u("jobs:job_status"),                             302, 403, 403, 200, 200, 200),
        ("jobs:job_detail",                  "get",  u("jobs:job_detail", args=[job.pk]),              302, 403, 403, 200, 200, 200),
        ("jobs:job_detail",                  "get",  u("jobs:job_detail", args=[world["study_job"].pk]), 302, 403, 403, 200, 404, 200),
        ("jobs:job_start",                   "post", u("jobs:job_start"),                              302, 403, 403, 403, 403, 302),
        ("jobs:job_cancel",                  "post", u("jobs:job_cancel", args=[job.pk]),              302, 403, 403, 403, 403, 302),
        ("jobs:job_requeue",                 "post", u("jobs:job_requeue", args=[job.pk]),             302, 403, 403, 403, 403, 302),
        ("pruning:dataset_list",             "get",  u("pruning:dataset_list"),                        302, 403, 403, 200, 200, 200),
        ("pruning:dataset_register",         "get",  u("pruning:dataset_register"),                    302, 403, 403, 403, 403, 200),
        ("pruning:dataset_synthetic",        "post",  u("pruning:dataset_synthetic"),                   302, 403, 403, 403, 403, 400),
        ("pruning:experiment_list",          "get",  u("pruning:experiment_list"),                     302, 403, 403, 200, 200, 200),
        ("pruning:experiment_new",           "get",  u("pruning:experiment_new"),                      302, 403, 403, 403, 403, 200),
        ("pruning:experiment_detail",        "get",  u("pruning:experiment_detail", args=[MISSING]),   302, 403, 403, 404, 404, 404),
        ("pruning:experiment_run",           "post", u("pruning:experiment_run", args=[MISSING]),      302, 403, 403, 403, 403, 404),
        ("pruning:experiment_select_pies",   "post", u("pruning:experiment_select_pies", args=[MISSING]), 302, 403, 403, 403, 403, 404),
        ("pruning:run_file",                 "get",  u("pruning:run_file", args=[MISSING, 0, "history.csv"]), 302, 403, 403, 404, 404, 404),
        ("pruning:pie_table",                "get",  u("pruning:pie_table", args=[MISSING]),           302, 403, 403, 404, 404, 404),
        ("overview",                         "get",  u("overview"),                                    302, 403, 403, 200, 200, 200),
        ("analysis:home",                    "get",  u("analysis:home"),                               302, 403, 403, 200, 200, 200),
        ("analysis:report_new",              "get",  u("analysis:report_new"),                         302, 403, 403, 200, 200, 200),
        ("analysis:report_detail",           "get",  u("analysis:report_detail", args=[MISSING]),      302, 403, 403, 404, 404, 404),
        ("analysis:report_rerun",            "post", u("analysis:report_rerun", args=[MISSING]),       302, 403, 403, 403, 403, 404),
        ("analysis:report_file",             "get",  u("analysis:report_file", args=[MISSING, "summary.json"]), 302, 403, 403, 404, 404, 404),
        ("analysis:api-report-who",          "get",  u("analysis:api-report-who", args=[MISSING]),    403, 403, 403, 404, 404, 404),
        # Cross-method comparison of an experiment (issue 19): researchers read, admins build.
        ("analysis:experiment_methods",      "get",  u("analysis:experiment_methods", args=[MISSING]), 302, 403, 403, 404, 404, 404),
        ("analysis:experiment_methods_build", "post", u("analysis:experiment_methods_build", args=[MISSING]), 302, 403, 403, 403, 403, 404),
        ("analysis:experiment_methods_file", "get",  u("analysis:experiment_methods_file", args=[MISSING, "comparison.json"]), 302, 403, 403, 404, 404, 404),
        ("analysis:api-experiment-methods",  "get",  u("analysis:api-experiment-methods", args=[MISSING]), 403, 403, 403, 404, 404, 404),
        ("readerstudy:home",                 "get",  u("readerstudy:home"),                            302, 200, 200, 200, 200, 200),
        ("readerstudy:new",                  "get",  u("readerstudy:new"),                             302, 403, 403, 403, 403, 200),
        ("readerstudy:intro",                "get",  u("readerstudy:intro", args=[pk]),                302, 200, 200, 302, 404, 302),
        ("readerstudy:read_resume",          "get",  u("readerstudy:read_resume", args=[pk]),          302, 302, 302, 404, 404, 404),
        ("readerstudy:read",                 "get",  u("readerstudy:read", args=[pk, 1]),              302, 200, 200, 404, 404, 404),
        ("readerstudy:done",                 "get",  u("readerstudy:done", args=[pk]),                 302, 302, 302, 404, 404, 404),
        # The review of reference labels (the world's study allows it): its readers, once finished (until
        # then it sends them back to their cases); nobody else, researchers included (they have the dashboard).
        ("readerstudy:review",               "get",  u("readerstudy:review", args=[pk]),               302, 302, 302, 404, 404, 404),
        ("readerstudy:image",                "get",  u("readerstudy:image", args=[token]),             302, 200, 404, 200, 404, 200),
        ("readerstudy:dashboard",            "get",  u("readerstudy:dashboard", args=[pk]),            302, 403, 403, 200, 404, 200),
        # Reading protocol: with no consent text or practice case, readers pass straight on to their cases.
        ("readerstudy:consent",              "get",  u("readerstudy:consent", args=[pk]),              302, 302, 302, 404, 404, 404),
        ("readerstudy:practice",             "get",  u("readerstudy:practice", args=[pk]),             302, 302, 302, 404, 404, 404),
        ("readerstudy:practice_image",       "get",  u("readerstudy:practice_image", args=["nosuch"]), 302, 404, 404, 404, 404, 404),
        ("readerstudy:image_full",           "get",  u("readerstudy:image_full", args=[token]),        302, 404, 404, 404, 404, 404),
        ("readerstudy:protocol",             "get",  u("readerstudy:protocol", args=[pk]),             302, 403, 403, 200, 404, 200),
        # Perception statistics: the page exists at once (a GET only reads; its POST queues the job); the HTML
        # report and files only once computed.
        ("analysis:perception",              "get",  u("analysis:perception", args=[pk]),              302, 403, 403, 200, 404, 200),
        ("analysis:perception",              "post", u("analysis:perception", args=[pk]),              302, 403, 403, 302, 404, 302),
        ("analysis:perception_html",         "get",  u("analysis:perception_html", args=[pk]),         302, 403, 403, 404, 404, 404),
        ("analysis:perception_file",         "get",  u("analysis:perception_file", args=[pk, "summary.json"]), 302, 403, 403, 404, 404, 404),
        ("analysis:sizing",                  "get",  u("analysis:sizing"),                             302, 403, 403, 200, 200, 200),
        ("analysis:sizing",                  "get",  u("analysis:sizing") + f"?study={pk}",            302, 403, 403, 200, 404, 200),
        ("analysis:sizing",                  "get",  u("analysis:sizing") + f"?job={MISSING}",         302, 403, 403, 404, 404, 404),
        ("analysis:api-perception",          "get",  u("analysis:api-perception", args=[pk]),          403, 403, 403, 200, 404, 200),
        ("analysis:api-perception",          "post", u("analysis:api-perception", args=[pk]),          403, 403, 403, 200, 404, 200),
        ("readerstudy:set_status",           "post", u("readerstudy:set_status", args=[pk]),           302, 403, 403, 403, 403, 302),
        ("readerstudy:readers",              "post", u("readerstudy:readers", args=[pk]),              302, 403, 403, 403, 403, 302),
        ("readerstudy:clone",                "post", u("readerstudy:clone", args=[pk]),                302, 403, 403, 403, 403, 302),
        ("readerstudy:delete",               "post", u("readerstudy:delete", args=[pk]),               302, 403, 403, 403, 403, 302),
        ("readerstudy:preview",              "get",  u("readerstudy:preview", args=[pk, 1, 1]),        302, 403, 403, 403, 403, 200),
        ("readerstudy:preview_case",         "get",  u("readerstudy:preview_case", args=[pk, 1, 2]),   302, 403, 403, 403, 403, 200),
        ("readerstudy:export_tidy",          "get",  u("readerstudy:export_tidy", args=[pk]),          302, 403, 403, 200, 404, 200),
        ("readerstudy:export_flags",         "get",  u("readerstudy:export_flags", args=[pk]),         302, 403, 403, 200, 404, 200),
        ("readerstudy:export_via_zip",       "get",  u("readerstudy:export_via_zip", args=[pk]),       302, 403, 403, 200, 404, 200),
        ("readerstudy:export_via",           "get",  u("readerstudy:export_via", args=[pk, a.pseudonym]), 302, 403, 403, 200, 404, 200),
        ("readerstudy:api-studies",          "get",  u("readerstudy:api-studies"),                     403, 200, 200, 200, 200, 200),
        ("readerstudy:api-study",            "get",  u("readerstudy:api-study", args=[pk]),            403, 200, 200, 200, 404, 200),
        ("readerstudy:api-reader-next",      "get",  u("readerstudy:api-reader-next", args=[pk]),      403, 200, 200, 404, 404, 404),
        ("readerstudy:api-reader-case",      "get",  u("readerstudy:api-reader-case", args=[pk, 1]),   403, 200, 200, 404, 404, 404),
        ("readerstudy:api-reader-viewed",    "post", u("readerstudy:api-reader-viewed", args=[pk, 1]), 403, 200, 200, 404, 404, 404),
        ("readerstudy:api-study-answers",    "get",  u("readerstudy:api-study-answers", args=[pk]),    403, 200, 200, 200, 404, 200),
        ("readerstudy:api-study-cases",      "get",  u("readerstudy:api-study-cases", args=[pk]),      403, 403, 403, 200, 404, 200),
        ("readerstudy:api-answer-submit",    "post", u("readerstudy:api-answer-submit"),               403, 200, 403, 403, 403, 403),
        ("readerstudy:api-case-flag",        "post", u("readerstudy:api-case-flag"),                   403, 200, 403, 403, 403, 403),
        ("admin",                            "get",  "/admin/",                                        302, 302, 302, 302, 302, 200),
        # Last: it ends the session.
        ("logout",                           "post", u("logout"),                                      302, 302, 302, 302, 302, 302),
    ]
    # fmt: on


def bodies(world, role) -> dict:
    study = world["study"]
    a = Assignment.objects.get(study=study, reader=world["users"]["reader_a"])
    token = Case.objects.get(pk=a.order[0]).token
    mine = Assignment.objects.filter(study=study, reader__username=role).values_list("pk", flat=True).first()
    return {
        "jobs:job_start": {"kind": "selfcheck"},
        "readerstudy:set_status": {"action": "open"},  # already open: allowed for admins, changes nothing
        "readerstudy:readers": {"remove": [world["users"]["reader_a"].pk]},  # refused: the study is open
        "readerstudy:delete": {},  # refused: the study is open
        # Reader A's first case, sent by each role with their own assignment (or one that is nobody's).
        "readerstudy:api-answer-submit": {"case": token, "assignment": mine or a.pk, "answers": {"agree_label": "yes"}},
        "readerstudy:api-case-flag": {"case": token, "flagged": True, "comment": "blurred"},
    }


def test_the_matrix_has_a_row_for_every_named_url(world):
    rows = {row[0] for row in matrix(world)}
    assert named_patterns() - rows == set(), "new URLs need a row in the permission matrix"
    assert rows - named_patterns() - {"admin"} == set(), "rows for URLs that no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, role, client):
    if role != "anon":
        client.force_login(world["users"][role])
    body = bodies(world, role)
    failures = []
    for name, method, url, *expected in matrix(world):
        stranger = expected[ROLES.index("stranger")]
        want = DUAL_DIFFERS.get(name, stranger) if role == "dual" else expected[ROLES.index(role)]
        if method == "get":
            r = client.get(url)
        elif "api-" in name:
            r = client.post(url, body.get(name, {}), content_type="application/json")
        else:
            r = client.post(url, body.get(name, {}))
        if r.status_code != want:
            failures.append(f"{name}: {r.status_code} != {want}")
        elif role == "anon" and want == 302 and name != "logout" and "/login/" not in r.url:
            failures.append(f"{name}: anonymous redirected to {r.url}, not the login page")
        elif r.status_code in (403, 404) and name.startswith("readerstudy:api-") and "detail" not in r.json():
            failures.append(f"{name}: API error without a JSON detail")
    assert failures == [], failures
    # Only reader A's own submission may have written an answer.
    assert Answer.objects.count() == (1 if role == "reader_a" else 0)


@pytest.mark.parametrize("role, sees", [("owner", True), ("stranger", False), ("admin", True)])
def test_lists_of_studies_show_only_granted_ones(world, role, sees, client):
    """Per-study access (hole 8): a researcher not granted on a study does not even see its title."""
    client.force_login(world["users"][role])
    for url in (reverse("readerstudy:home"), reverse("overview"), reverse("readerstudy:api-studies")):
        assert ("Matrix" in client.get(url).content.decode()) is sees, url


@pytest.mark.parametrize("role, sees", [("owner", True), ("stranger", False), ("admin", True)])
def test_job_pages_show_a_studys_jobs_only_to_those_granted_the_study(world, role, sees, client, django_user_model):
    """A study's build job carries its title and design; a researcher not granted the study must not see it
    on /jobs/, on the job page or in the polled status (admins see every job)."""
    study, users = world["study"], world["users"]
    build = Job.objects.create(
        kind="study_build",
        params={"design": {"title": "Secret build"}},
        result={"study_id": study.pk, "title": "Secret build"},
        progress_message="study 'Secret build' built with 8 cases",  # what the build job writes at its end
        created_by=users["admin"],
    )
    client.force_login(users[role])
    assert ("Secret build" in client.get(reverse("jobs:job_list")).content.decode()) is sees
    assert client.get(reverse("jobs:job_detail", args=[build.pk])).status_code == (200 if sees else 404)
    ids = f"{build.pk},{world['study_job'].pk},{world['job'].pk}"
    shown = {j["id"] for j in client.get(reverse("jobs:job_status"), {"ids": ids}).json()["jobs"]}
    assert shown == ({build.pk, world["study_job"].pk, world["job"].pk} if sees else {world["job"].pk})


def test_the_uploader_sees_their_failed_build_job(world, client):
    """A failed build made no study; the researcher who started it still sees it (and nobody else but admins)."""
    users = world["users"]
    build = Job.objects.create(kind="study_build", params={}, created_by=users["stranger"], status="failed")
    client.force_login(users["stranger"])
    assert client.get(reverse("jobs:job_detail", args=[build.pk])).status_code == 200
    client.force_login(users["owner"])
    assert client.get(reverse("jobs:job_detail", args=[build.pk])).status_code == 404


def test_a_collaborator_gets_the_owners_view(world, client):
    services.study_grant(study=world["study"], user=world["users"]["stranger"])
    client.force_login(world["users"]["stranger"])
    pk = world["study"].pk
    for name in ("readerstudy:dashboard", "readerstudy:export_tidy", "readerstudy:api-study-cases"):
        assert client.get(reverse(name, args=[pk])).status_code == 200, name
    services.study_revoke(study=world["study"], user=world["users"]["stranger"])
    assert client.get(reverse("readerstudy:dashboard", args=[pk])).status_code == 404
