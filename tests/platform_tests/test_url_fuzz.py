"""Every URL pattern of the project, with every parameter replaced by what no page means (NUL and other control
characters, bytes that are not UTF-8, overlong values, ids past any database column), as a reader, a
researcher and an admin, by GET and POST: a clean 4xx (or the page's own refusal), never a 500."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.readerstudy_tests.factories import make_candidates

pytestmark = pytest.mark.django_db

INT_MARK = 7919_7919
STR_MARK = "zzMARKzz"
BAD_INTS = [str(2**64 + 17), "15117576178839259136", "9" * 40]
BAD_STRS = ["%00", "a%00b", "%0d%0a", "%1b", "%ff%fe", "%c3%28", "x" * 5000]
BAD_QUERIES = ["?q=%00", "?q=%ff", "?paper_order=%00", "?selection=" + "9" * 5000, "?page=a%01b"]


def patterns(resolver=None, ns: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                yield from patterns(entry, ns + (f"{entry.namespace}:" if entry.namespace else ""))
        elif isinstance(entry, URLPattern) and entry.name:
            yield ns + entry.name, entry.pattern.converters


def bad_urls() -> list[str]:
    urls = []
    for name, converters in patterns():
        kwargs = {k: INT_MARK if type(c).__name__ == "IntConverter" else STR_MARK for k, c in converters.items()}
        base = reverse(name, kwargs=kwargs)
        for key, conv in converters.items():
            others = {k: v for k, v in kwargs.items() if k != key}
            bad = BAD_INTS if type(conv).__name__ == "IntConverter" else BAD_STRS
            for value in bad:
                marker = INT_MARK if type(conv).__name__ == "IntConverter" else STR_MARK
                url = reverse(name, kwargs={**others, key: marker})
                urls.append(url.replace(str(marker), value, 1).replace(str(INT_MARK), "1").replace(STR_MARK, "x"))
        clean = base.replace(str(INT_MARK), "1").replace(STR_MARK, "x")
        urls += [clean + q for q in BAD_QUERIES]
    urls += ["/study/image/%00/", "/study/api/studies/15117576178839259136/answers/", "/%00/", "/admin/%00/"]
    return urls


@pytest.fixture
def small_study(settings, tmp_path, reader_a, admin_user):
    from readerstudy import builder, services

    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT.mkdir()
    study = builder.study_create_from_candidates(
        title="Fuzz", candidates=make_candidates(tmp_path / "src", n_pie=2, n_non=2), n_forms=1, cases_per_form=4,
        readers=[reader_a], created_by=admin_user,
    )  # fmt: skip
    return services.study_open(study=study)


@pytest.mark.parametrize("role", ["reader_a", "researcher", "admin_user"])
def test_no_url_parameter_of_any_pattern_gives_a_server_error(small_study, role, request):
    client = Client(raise_request_exception=False)
    user = request.getfixturevalue(role)
    urls = bad_urls()
    assert len(urls) > 300
    failures = []
    for url in urls:
        for method in ("get", "post"):
            if "_auth_user_id" not in client.session:  # the logout URL (and its fuzzed forms) end the session
                client.force_login(user)
            r = getattr(client, method)(url)
            if r.status_code >= 500:
                failures.append(f"{method.upper()} {url[:120]}: {r.status_code}")
    assert failures == [], failures[:20]


def test_bad_input_is_refused_with_a_reason(small_study, reader_a):
    client = Client()
    client.force_login(reader_a)
    r = client.get("/study/image/%00/")
    assert r.status_code == 400 and "control character" in r.content.decode()
    r = client.get("/study/api/studies/15117576178839259136/answers/")
    assert r.status_code == 404
    r = client.get(f"/study/api/studies/{small_study.pk}/?x=%ff")
    assert r.status_code == 400 and r.json() == {"detail": "The address is not valid UTF-8."}


def test_every_control_character_in_a_path_is_refused_and_text_controls_in_a_query_pass(small_study, reader_a):
    client = Client()
    client.force_login(reader_a)
    for code in [*range(0x20), 0x7F]:
        r = client.get(f"/study/image/a%{code:02x}b/")
        assert r.status_code == 400, hex(code)
    assert client.get(f"/study/{small_study.pk}/?note=a%0d%0ab%09c").status_code == 200
