"""Import the paper's survey files (VIA CSV exports + a PIE mapping file) as a closed study.

The imported study works like a native one (dashboard, exports, statistics). Its cases have no image
(VIA files carry answers, not pixels). Each reader becomes an inactive account that cannot log in, with
one form holding the files they answered; a file answered by two or more readers is one anchor case.
Readers are named by the mapping's ``reader`` column, else by their CSV file's name; the pseudonyms
(R01, ...) and the original names are kept in ``study.source["readers"]``.

Answers go through ``answering.clean_value`` (the one validator). An empty answer is "unanswered", as a
missing key is (the paper's script turned an empty agreement answer into "no"; we do not guess).
Everything is checked before anything is written; all problems are reported together, by file and row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from config.roles import actor
from readerstudy.answering import clean_value
from readerstudy.builder import DEFAULT_QUESTIONS
from readerstudy.errors import ReaderStudyError
from readerstudy.models import Answer, Assignment, Case, CaseReading, Form, FormCase, Question, Study
from readerstudy.via import PieMapping, ViaFile, question_key, read_pie_mapping, read_via_csv

_PAPER_SPECS = {q["key"]: q for q in DEFAULT_QUESTIONS}


class ViaImportError(ReaderStudyError):
    """The files cannot be imported; `problems` lists every reason, by file and row."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s) in the survey files:\n" + "\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    study: Study
    n_readers: int
    n_cases: int
    n_answers: int

    def __str__(self) -> str:
        return (
            f"Imported study {self.study.pk}: {self.n_readers} readers, {self.n_cases} cases, {self.n_answers} answers"
        )


def _questions(files: list[ViaFile]) -> dict[str, Question]:
    """Question text -> unsaved Question, in order of first appearance (the paper's three first)."""
    texts: list[str] = []
    for via in files:
        for attrs in via.answers.values():
            texts += [t for t in attrs if t not in texts]
    paper = [q["text"] for q in DEFAULT_QUESTIONS]
    seen = {t: k for k, t in enumerate(texts)}
    texts = sorted(texts, key=lambda t: (paper.index(t) if t in paper else len(paper), seen[t]))
    out: dict[str, Question] = {}
    taken: set[str] = set()
    for order, text in enumerate(texts, start=1):
        key, kind = question_key(text, taken)
        taken.add(key)
        spec = _PAPER_SPECS.get(key, {})
        out[text] = Question(order=order, key=key, text=text[:500], kind=kind, options=list(spec.get("options", [])))
        out[text].required = False
    return out


def _cleaned(
    files: list[ViaFile], mapping: PieMapping, questions: dict[str, Question], problems: list[str]
) -> dict[tuple[str, str], dict[str, object]]:
    """(reader, filename) -> {question text: stored value}; unmapped names and bad values go to `problems`."""
    unmapped = sorted({f for via in files for f in via.answers if f not in mapping.pie})
    if unmapped:
        problems.append(f"{len(unmapped)} filename(s) not in the PIE mapping: {', '.join(unmapped)}")
    answers: dict[tuple[str, str], dict[str, object]] = {}
    where: dict[tuple[str, str], str] = {}
    for via in files:
        for filename, attrs in via.answers.items():
            reader = mapping.reader.get(filename, via.reader)
            here = f"{via.name} row {via.rows[filename]}"
            if (reader, filename) in answers:
                problems.append(f"{here}: reader {reader} already answered {filename} ({where[(reader, filename)]})")
                continue
            values = {}
            for text, raw in attrs.items():
                question = questions[text]
                if raw.strip() == "":
                    continue
                try:
                    values[text] = clean_value(question, raw)
                except ValueError as exc:
                    problems.append(f"{here}: {filename}: '{text}': {exc}")
            answers[(reader, filename)], where[(reader, filename)] = values, here
    return answers


def _check_storable(title, files, mapping, questions, answers, problems: list[str]) -> None:
    """What the database cannot store becomes a problem, not a DataError: a NUL character (PostgreSQL text and
    JSON refuse it) in a title, file name, filename, reader or question, an empty question text, and a
    filename over the case's 300 characters."""
    names = {"title": [title], "file name": [n for n, _ in files] + [mapping[0]], "question": list(questions)}
    names["reader"] = sorted({r for r, _ in answers})
    names["filename"] = sorted({f for _, f in answers})
    for what, values in names.items():
        for value in values:
            if "\x00" in value:
                problems.append(f"{what} {value!r} contains a NUL character; remove it")
    if "" in questions:
        problems.append("a question has an empty text (an empty key in file_attributes); name it")
    long = [f for f in names["filename"] if len(f) > Case._meta.get_field("source_image_id").max_length]
    if long:
        problems.append(f"{len(long)} filename(s) longer than 300 characters: {', '.join(f[:40] + '…' for f in long)}")


def study_import_via(
    *, files: list[tuple[str, str]], mapping: tuple[str, str], title: str = "", user=None
) -> ImportResult:
    """Create a closed study from VIA CSV texts [(name, text), ...] and the mapping (name, text)."""
    problems: list[str] = []
    parsed = [read_via_csv(text, name, problems) for name, text in files]
    pie_map = read_pie_mapping(mapping[1], mapping[0], problems)
    if not files:
        problems.append("no VIA CSV files given")
    questions = _questions(parsed)
    answers = _cleaned(parsed, pie_map, questions, problems)
    _check_storable(title, files, mapping, questions, answers, problems)
    if problems:
        raise ViaImportError(problems)
    return _write(title or f"Imported survey ({len(files)} files)", files, mapping, questions, answers, pie_map, user)


def _write(title, files, mapping, questions, answers, pie_map, user) -> ImportResult:
    readers = sorted({r for r, _ in answers})
    filenames = sorted({f for _, f in answers})
    n_reads = {f: sum(1 for _, g in answers if g == f) for f in filenames}
    now = timezone.now()
    users = get_user_model()
    with transaction.atomic():
        study = Study.objects.create(
            title=title[:200],
            status=Study.Status.CLOSED,
            source={
                "kind": "via_import",
                "files": [name for name, _ in files],
                "mapping": mapping[0],
                "readers": {},
            },
            created_by=actor(user),
        )
        for q in questions.values():
            q.study = study
            q.full_clean(exclude=["study"])
            q.save()
        cases = {
            f: Case.objects.create(
                study=study,
                image="",
                is_pie=pie_map.pie[f],
                source_image_id=f,
                dataset="via_import",
                is_anchor=n_reads[f] > 1,
            )
            for f in filenames
        }
        n_answers = 0
        for number, reader in enumerate(readers, start=1):
            pseudonym = f"R{number:02d}"
            study.source["readers"][pseudonym] = reader
            account = users.objects.create(username=f"via{study.pk}-{pseudonym}"[:150], is_active=False)
            account.set_unusable_password()
            account.save(update_fields=["password"])
            form = Form.objects.create(study=study, number=number)
            mine = [f for r, f in sorted(answers) if r == reader]
            FormCase.objects.bulk_create([FormCase(form=form, case=cases[f]) for f in mine])
            assignment = Assignment.objects.create(
                study=study,
                form=form,
                reader=account,
                pseudonym=pseudonym,
                seed=0,
                order=[cases[f].pk for f in mine],
                started_at=now,
                completed_at=now,
                last_activity_at=now,
            )
            CaseReading.objects.bulk_create(
                [CaseReading(assignment=assignment, case=cases[f], completed_at=now) for f in mine]
            )
            rows = [
                Answer(
                    reader=account,
                    case=cases[f],
                    question=questions[text],
                    assignment=assignment,
                    value=value,
                    created_at=now,
                    updated_at=now,
                    history=[{"value": value, "at": now.isoformat()}],
                )
                for f in mine
                for text, value in answers[(reader, f)].items()
            ]
            Answer.objects.bulk_create(rows)
            n_answers += len(rows)
        study.save(update_fields=["source"])
    return ImportResult(study, len(readers), len(cases), n_answers)
