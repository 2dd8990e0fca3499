"""Blinding: log in as a reader, crawl everything they can reach, and find no hidden value anywhere.

The crawl follows every link, form action, script/style/image source and every URL inside JSON, through
the pages and the API, while the reader rates their whole form (so every case position is visited).
"""

import json
import re
import struct
from collections import deque
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from readerstudy import builder, services
from readerstudy.design import longest_run
from readerstudy.models import Assignment, Case, CaseReading

from .conftest import make_candidates

pytestmark = pytest.mark.django_db

SKIP = ("/accounts/logout/", "/admin/", "/api/schema/", "/api/docs/")
HIDDEN_KEYS = ("is_pie", "correlation", "source_image_id", "hidden_truth", "dataset", "is_anchor", "repeat_of", "seed")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src", "action") and v:
                self.urls.append(v)


def urls_in_json(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from urls_in_json(v)
    elif isinstance(value, list):
        for v in value:
            yield from urls_in_json(v)
    elif isinstance(value, str) and value.startswith("/"):
        yield value


def json_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from json_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_keys(v)


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8].decode("ascii"))
        pos += 12 + length
    return chunks


class Crawl:
    def __init__(self, client):
        self.client = client
        self.seen: dict[str, object] = {}
        self.texts: list[tuple[str, str]] = []  # (url, text of body + headers)
        self.images: dict[str, bytes] = {}
        self.json_docs: list[tuple[str, object]] = []

    def run(self, seeds):
        queue = deque(seeds)
        while queue:
            url = queue.popleft().split("#")[0]
            if not url.startswith("/") or url in self.seen or url.startswith(SKIP):
                continue
            r = self.client.get(url)
            self.seen[url] = r.status_code
            if r.status_code in (301, 302):
                queue.append(r.url)
                continue
            body = b"".join(r.streaming_content) if r.streaming else r.content
            headers = "\n".join(f"{k}: {v}" for k, v in r.items())
            ctype = r.get("Content-Type", "")
            if ctype.startswith("image/") and url.startswith("/study/image/"):  # case images (not the favicon)
                self.images[url] = body
                self.texts.append((url, headers))
                continue
            text = body.decode("utf-8", "replace")
            self.texts.append((url, url + "\n" + headers + "\n" + text))
            if "json" in ctype:
                doc = json.loads(text)
                self.json_docs.append((url, doc))
                queue.extend(urls_in_json(doc))
            elif "html" in ctype:
                parser = Links()
                parser.feed(text)
                queue.extend(parser.urls)
                for m in re.finditer(r'<script id="rs-bootstrap" type="application/json">(.*?)</script>', text, re.S):
                    doc = json.loads(m.group(1))
                    self.json_docs.append((url, doc))
                    queue.extend(urls_in_json(doc))


@pytest.fixture
def secret_study(artifacts, tmp_path, reader_a, reader_b):
    cands = make_candidates(tmp_path / "secret", n_pie=10, n_non=10, prefix="SECRETSRC")
    for k, c in enumerate(cands):
        c.correlation = -0.3141 - k * 1e-6  # distinctive strings such as "-0.314105"
        c.dataset = "SECRETDATASET"
        c.hidden_truth = {"label_noise": f"SECRETTRUTH{k:03d}"}
    s = builder.study_create_from_candidates(
        title="Blinded",
        candidates=cands,
        n_forms=2,
        cases_per_form=8,
        anchor_ids=[cands[0].source_image_id, cands[19].source_image_id],
        repeat_cases=2,
        readers=[reader_a, reader_b],
        seed=11,
    )
    return services.study_open(study=s), cands


def test_nothing_a_reader_can_load_reveals_a_hidden_value(secret_study, reader_a, client):
    study, cands = secret_study
    client.force_login(reader_a)
    mine = Assignment.objects.get(study=study, reader=reader_a)
    seeds = [
        reverse("readerstudy:home"),
        reverse("readerstudy:intro", args=[study.pk]),
        reverse("readerstudy:api-studies"),
        reverse("readerstudy:api-study", args=[study.pk]),
        reverse("readerstudy:api-study-answers", args=[study.pk]),
    ]
    crawl = Crawl(client)
    # Rate the whole form, crawling before each answer so every position's page and payload is visited.
    for _ in range(mine.total):
        crawl.seen = {u: s for u, s in crawl.seen.items() if u.startswith(("/static/", "/study/image/"))}
        crawl.run(
            [
                *seeds,
                reverse("readerstudy:read_resume", args=[study.pk]),
                reverse("readerstudy:api-reader-next", args=[study.pk]),
            ]
        )
        nxt = client.get(reverse("readerstudy:api-reader-next", args=[study.pk])).json()
        r = client.post(
            reverse("readerstudy:api-answer-submit"),
            {
                "case": nxt["case"]["id"],
                "assignment": Assignment.objects.get(study=study, reader__username="reader_a").pk,
                "answers": {"agree_label": "yes", "quality": 3, "difficulty": 3},
                "complete": True,
            },
            content_type="application/json",
        )
        crawl.json_docs.append(("submit", r.json()))
        crawl.texts.append(("submit", r.content.decode()))
    crawl.seen = {}
    crawl.run([*seeds, *(reverse("readerstudy:read", args=[study.pk, p]) for p in range(1, mine.total + 1))])

    # The crawl really went everywhere: every own case image, every reading page, the completion page.
    my_tokens = set(Case.objects.filter(pk__in=mine.order).values_list("token", flat=True))
    assert {u.split("/")[-2] for u in crawl.images} == my_tokens
    assert reverse("readerstudy:done", args=[study.pk]) in crawl.seen
    assert all(reverse("readerstudy:read", args=[study.pk, p]) in crawl.seen for p in range(1, mine.total + 1))

    forbidden = {"SECRETDATASET", "SECRETSRC", "SECRETTRUTH", "-0.3141"}
    for case in Case.objects.filter(study=study):
        forbidden |= {case.source_image_id, repr(case.correlation), case.image}
    others = set(Case.objects.filter(study=study).values_list("token", flat=True)) - my_tokens
    for url, text in crawl.texts:
        for value in forbidden | others:
            assert value not in text, f"{value!r} leaks in {url}"
        assert not re.search(r"\bpie\b|\bPIEs?\b|non-PIE", text, re.I), f"the word PIE appears in {url}"
    for url, doc in crawl.json_docs:
        leaked = set(json_keys(doc)) & set(HIDDEN_KEYS)
        assert not leaked, f"hidden field {leaked} in JSON of {url}"

    # Images: only pixel chunks, nothing from the source files, under opaque names.
    originals = {c.image_path.read_bytes() for c in cands}
    for url, data in crawl.images.items():
        assert set(png_chunks(data)) <= {"IHDR", "IDAT", "IEND"}, url
        assert data not in originals and b"secret-metadata" not in data

    # The order never groups PIEs, and positions say nothing (a fresh shuffle per reader).
    flags = list(Case.objects.filter(pk__in=mine.order).values_list("pk", "is_pie"))
    by_pk = dict(flags)
    assert longest_run([by_pk[c] for c in mine.order]) <= 5
    other = Assignment.objects.get(study=study, reader__username="reader_b")
    anchors = [c for c in mine.order if c in other.order]
    assert len(anchors) == 2  # anchor cases are shared between the forms, each reader in their own order


def test_a_dual_role_account_crawling_the_reading_side_gets_no_case_of_its_study(secret_study, reader_a, client):
    """Reader A is promoted to researcher (of no study) while assigned: a crawl of every reading page and API
    payload it was given reaches no case image, token or question of the study, only clear refusals."""
    from django.contrib.auth.models import Group

    from config.roles import DUAL_ROLE_MESSAGE, RESEARCHERS

    study, _ = secret_study
    mine = Assignment.objects.get(study=study, reader=reader_a)
    reader_a.groups.add(Group.objects.get_or_create(name=RESEARCHERS)[0])
    client.force_login(reader_a)
    crawl = Crawl(client)
    reading = ["intro", "read_resume", "done", "api-study", "api-reader-next", "api-study-answers"]
    crawl.run(
        [
            reverse("readerstudy:home"),
            reverse("readerstudy:api-studies"),
            *(reverse(f"readerstudy:{name}", args=[study.pk]) for name in reading),
            *(reverse("readerstudy:read", args=[study.pk, p]) for p in range(1, mine.total + 1)),
            *(reverse("readerstudy:image", args=[c.token]) for c in Case.objects.filter(pk__in=mine.order)),
        ]
    )
    assert crawl.images == {}
    refused = {u: s for u, s in crawl.seen.items() if f"/study/{study.pk}/" in u or f"/studies/{study.pk}/" in u}
    assert len(refused) >= 6 and set(refused.values()) == {403}, refused
    tokens = set(Case.objects.filter(study=study).values_list("token", flat=True))
    for url, text in crawl.texts:
        body = text.replace(url, "")  # (the seeds' own image URLs name tokens the test already knew)
        assert not any(t in body for t in tokens), f"a case token reaches the dual-role account in {url}"
        assert "How would you rate" not in text, url
    assert any(DUAL_ROLE_MESSAGE in text for _, text in crawl.texts)


def test_draft_studies_are_invisible_to_their_readers(secret_study, reader_a, client):
    study, _ = secret_study
    study.status = "draft"
    study.save()
    client.force_login(reader_a)
    assert "Blinded" not in client.get(reverse("readerstudy:home")).content.decode()
    assert client.get(reverse("readerstudy:intro", args=[study.pk])).status_code == 404
    assert client.get(reverse("readerstudy:api-studies")).json() == {"assigned": []}
    token = Case.objects.get(pk=Assignment.objects.get(study=study, reader=reader_a).order[0]).token
    assert client.get(reverse("readerstudy:image", args=[token])).status_code == 404


# --- Every URL of the URLconf, requested by a reader ----------------------------------------------------
# The crawl above follows what the reader's pages link to; this sweep asks for every named URL of the project
# (derived from the URLconf, so a page added later is covered without editing this test), with the ids of the
# reader's own study, another study, the other reader's cases and pseudonym, and files that exist. A reader
# may use only the reading side; everything else (dashboards, previews, statistics, reports, jobs, every
# export) answers 403 or 404, and nothing a reader receives names a hidden value or PIE status.

READER_SIDE = {
    "home", "healthz", "no_role", "login",
    "readerstudy:home", "readerstudy:intro", "readerstudy:read_resume", "readerstudy:read", "readerstudy:done",
    "readerstudy:image", "readerstudy:api-studies", "readerstudy:api-study", "readerstudy:api-reader-next",
    "readerstudy:api-reader-case", "readerstudy:api-reader-viewed", "readerstudy:api-study-answers",
    "readerstudy:api-answer-submit", "readerstudy:api-case-flag", "readerstudy:consent", "readerstudy:practice",
    "readerstudy:practice_image", "readerstudy:image_full",
}  # fmt: skip
SCHEMA = ("api-schema", "api-docs")  # describe the researchers' fields by name; hold no study's data
MISSING = 987654


def url_patterns(resolver=None, ns: str = ""):
    """(namespaced name, parameter names) of every named URL (the Django admin's own are checked apart)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                yield from url_patterns(entry, ns + (f"{entry.namespace}:" if entry.namespace else ""))
        elif isinstance(entry, URLPattern) and entry.name:
            pattern = entry.pattern
            yield ns + entry.name, list(getattr(pattern, "converters", {}) or pattern.regex.groupindex)


def received_of(r) -> tuple[str, object]:
    """(headers and body as text, the parsed JSON body or None)."""
    body = b"".join(r.streaming_content) if r.streaming else r.content
    text = body.decode("utf-8", "replace")
    doc = json.loads(text) if "json" in r.get("Content-Type", "") and text else None
    return "\n".join(f"{k}: {v}" for k, v in r.items()) + "\n" + text, doc


def test_every_url_a_reader_requests_is_refused_or_blinded(secret_study, reader_a, reader_b, settings, client):
    import itertools

    from django.urls import NoReverseMatch

    from analysis.models import PerceptionStats
    from jobs.models import Job

    study, cands = secret_study
    mine = Assignment.objects.get(study=study, reader=reader_a)
    theirs = Assignment.objects.get(study=study, reader=reader_b)
    their_only = Case.objects.get(pk=next(c for c in theirs.order if c not in mine.order))
    # Hidden things that exist, so a refusal is tested against real content: computed statistics files, a job
    # of the study, and a study of the other reader only.
    stats_dir = settings.ARTIFACT_ROOT / "perception-secret"
    stats_dir.mkdir()
    for name in ("summary.json", "descriptive.csv", "fig6_perception.png"):
        (stats_dir / name).write_text('{"is_pie": "SECRETTRUTH"}')
    PerceptionStats.objects.create(study=study, state="s", stage="fast", out_dir=str(stats_dir), summary={"x": 1})
    job = Job.objects.create(kind="study_build", params={"design": {"title": "SECRETSRC"}}, result={})
    other = services.study_open(
        study=builder.study_create_from_candidates(
            title="Other", candidates=make_candidates(study_dir(settings), n_pie=2, n_non=2, prefix="SECRETSRC"),
            n_forms=1, cases_per_form=4, readers=[reader_b], seed=1,
        )
    )  # fmt: skip
    values = {
        "pk": [study.pk, other.pk, job.pk, MISSING],
        "position": [1, mine.total, mine.total + 1],
        "form": [1, 2],
        "token": [Case.objects.get(pk=mine.order[0]).token, their_only.token],
        "pseudonym": [mine.pseudonym, theirs.pseudonym],
        "seed": [0],
        "name": ["summary.json", "descriptive.csv", "fig6_perception.png", "class_summary.csv", "history.csv"],
    }
    post_bodies = {
        "readerstudy:api-answer-submit": {"case": their_only.token, "assignment": theirs.pk, "answers": {"quality": 3}},
        "readerstudy:api-case-flag": {"case": their_only.token, "flagged": True, "comment": "x"},
        "readerstudy:set_status": {"action": "close"},
        "readerstudy:readers": {"remove": [reader_b.pk]},
        "jobs:job_start": {"kind": "selfcheck"},
    }
    client.force_login(reader_a)
    received: list[tuple[str, str, tuple[str, object]]] = []  # (name, url, (everything received, JSON))
    statuses: dict[str, set[int]] = {}
    for name, params in sorted(url_patterns()):
        if name == "logout":
            continue  # ends the session; it only redirects
        unknown = [p for p in params if p not in values]
        assert not unknown, f"{name}: give the sweep values for the URL parameter(s) {unknown}"
        for combo in itertools.product(*(values[p] for p in params)):
            try:
                url = reverse(name, kwargs=dict(zip(params, combo, strict=True)))
            except NoReverseMatch:
                continue
            r = client.get(url)
            if r.status_code == 405:  # a POST-only view: send it what a form or the API would
                body = post_bodies.get(name, {})
                r = client.post(url, body, content_type="application/json") if "api" in name else client.post(url, body)
            statuses.setdefault(name, set()).add(r.status_code)
            received.append((name, url, received_of(r)))
            if r.status_code in (301, 302) and r.url.startswith("/"):
                received.append((name, r.url, received_of(client.get(r.url))))
    # Every named URL was asked for (a new page is swept as soon as it exists).
    assert set(statuses) == {n for n, _ in url_patterns()} - {"logout"}
    # Everything off the reading side is refused: 403 (role) or 404 (not yours / not there), never content.
    refused = {n: s for n, s in statuses.items() if n not in READER_SIDE and not s <= {403, 404}}
    assert not refused, f"a reader got these answers off the reading side: {refused}"
    exports = [n for n in statuses if "export" in n or n.endswith(("_file", "_html", "pie_table", "study-cases"))]
    assert len(exports) >= 9 and all(statuses[n] <= {403, 404} for n in exports), exports
    # The Django admin: a reader is sent to its login, nothing more.
    r = client.get("/admin/")
    assert r.status_code == 302 and "/admin/login/" in r.url

    forbidden = {"SECRETDATASET", "SECRETSRC", "SECRETTRUTH", "-0.3141"}
    for case in Case.objects.filter(study__in=[study, other]):
        forbidden |= {case.source_image_id, repr(case.correlation), case.image}
    forbidden.add(their_only.token)
    for name, url, (text, doc) in received:
        for value in forbidden:
            assert value not in text.replace(url, ""), f"{value!r} leaks in {url}"
        if name in SCHEMA:
            continue
        assert not re.search(r"\bpie\b|\bPIEs?\b|non-PIE|is_pie|hidden_truth", text, re.I), f"PIE status in {url}"
        assert not set(json_keys(doc)) & set(HIDDEN_KEYS), f"hidden field in JSON of {url}"
    assert not CaseReading.objects.filter(case=their_only, flagged=True).exists()


def study_dir(settings):
    path = settings.ARTIFACT_ROOT / "other-src"
    path.mkdir(exist_ok=True)
    return path
