"""One definition each of the numbers every page, the demo and the statistics quote about a study.

- cases: the distinct images of the study; a hidden repeat is not another case (anchors count once).
- PIEs: those cases that are PIEs.
- hidden repeats: the extra copies shown again for intra-reader agreement.
- answers: ratings (yes/no and Likert answers, what the statistics analyse) to cases; ratings of hidden
  repeats are counted apart, as repeat answers; free-text comments are not ratings.
- repeat pairs: a reader and a hidden repeat they rated, with a rating of its original for the same
  question: one pair per reader and repeat (not per question), as the intra-reader table's n_pairs.
"""

from dataclasses import asdict, dataclass

from readerstudy.answering import UNABLE
from readerstudy.models import Answer, Case, Study

RATED_KINDS = ("yes_no", "likert")  # the kinds the perception statistics analyse (analysis.core.perception.data)

DEFINITIONS = {
    "cases": "distinct images (anchors once; hidden repeats are not extra cases)",
    "pies": "cases that are PIEs",
    "repeats": "hidden repeats: copies of cases shown again to measure intra-reader agreement",
    "answers": "yes/no and Likert ratings of cases (not of hidden repeats; free text is not counted)",
    "repeat_answers": "ratings of hidden repeats",
    "unable": '"unable to assess" answers: counted, never a rating',
    "repeat_pairs": "a reader's rating of a hidden repeat and of its original (one pair per reader and repeat)",
}


@dataclass(frozen=True)
class StudyCounts:
    cases: int
    pies: int
    repeats: int
    answers: int
    repeat_answers: int
    repeat_pairs: int
    unable: int = 0  # "unable to assess" answers (to cases and repeats): counted, not ratings

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def study_counts(*, study: Study) -> StudyCounts:
    """The study's counts by the definitions above (a handful of queries, whatever the size)."""
    cases = Case.objects.filter(study=study)
    originals = cases.filter(repeat_of__isnull=True)
    given = Answer.objects.filter(assignment__study=study, question__kind__in=RATED_KINDS).exclude(value=None)
    rated = given.exclude(value=UNABLE)
    on_repeats = rated.filter(case__repeat_of__isnull=False)
    firsts = set(rated.filter(case__repeat_of__isnull=True).values_list("assignment_id", "case_id", "question_id"))
    pairs = {
        (asg, case)
        for asg, case, original, question in on_repeats.values_list(
            "assignment_id", "case_id", "case__repeat_of_id", "question_id"
        )
        if (asg, original, question) in firsts
    }
    return StudyCounts(
        cases=originals.count(),
        pies=originals.filter(is_pie=True).count(),
        repeats=cases.filter(repeat_of__isnull=False).count(),
        answers=rated.filter(case__repeat_of__isnull=True).count(),
        repeat_answers=on_repeats.count(),
        repeat_pairs=len(pairs),
        unable=given.filter(value=UNABLE).count(),
    )


def label_disagreements(*, study: Study) -> list[dict[str, object]]:
    """Per shown label: of the "no" answers to a label-agreement question on cases showing it, how many named
    it in the labels question that follows (kind "labels"); the last row counts "a finding is missing" over
    all those "no" answers. Not ratings: the perception statistics never read labels answers."""
    asks = {q.options[0] for q in study.questions.filter(kind="labels") if q.options}
    if not asks:
        return []
    noes = Answer.objects.filter(assignment__study=study, question__key__in=asks, value="no")
    shown: dict[str, int] = {}
    for labels in noes.values_list("case__shown_labels", flat=True):
        for label in labels or []:
            shown[label] = shown.get(label, 0) + 1
    named: dict[str, int] = {}
    missing = 0
    given = Answer.objects.filter(assignment__study=study, question__kind="labels")
    for value in given.values_list("value", flat=True):
        for label in (value or {}).get("labels", []):
            named[label] = named.get(label, 0) + 1
        missing += bool((value or {}).get("missing"))
    out = [{"label": k, "disagreed": named.get(k, 0), "asked": n} for k, n in sorted(shown.items())]
    return [*out, {"label": "(a finding is missing)", "disagreed": missing, "asked": noes.count()}]
