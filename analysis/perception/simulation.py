"""Simulated readers for a study: answers from analysis.core.perception.simulate, flagged `simulated`.

With `n_readers`, that many new simulated reader accounts (inactive, no password, in the readers group so
they can hold an assignment) are created and given forms as a real reader would be; only their
assignments are filled. Without it, every unanswered (case, yes/no or Likert question) of every assignment
in the study is filled. Each simulated answer is stored with `simulated=True`, and its reading is marked
complete, so dashboards, exports and statistics treat it like a finished case and say it is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from analysis.core.perception.simulate import ReaderModel, simulate
from config.roles import READERS
from readerstudy.models import Answer, Assignment, Case, CaseReading, Study
from readerstudy.services import assignment_create


@dataclass
class SimulationResult:
    n_readers: int
    n_answers: int


def _simulated_readers(study: Study, n: int) -> list[Assignment]:
    users = get_user_model()
    group, _ = Group.objects.get_or_create(name=READERS)
    out = []
    start = Assignment.objects.filter(study=study).count()
    for k in range(n):
        user = users.objects.create(username=f"sim{study.pk}-{start + k + 1:02d}", is_active=False)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(group)
        out.append(assignment_create(study=study, reader=user))
    return out


def study_simulate_readers(
    *, study: Study, n_readers: int | None = None, seed: int = 0, model: ReaderModel | None = None
) -> SimulationResult:
    questions = {q.key: (q.text, q.kind, q.scale) for q in study.questions.all() if q.kind in ("yes_no", "likert")}
    by_key = {q.key: q for q in study.questions.all()}
    with transaction.atomic():
        assignments = (
            _simulated_readers(study, n_readers)
            if n_readers
            else list(Assignment.objects.filter(study=study).select_related("reader"))
        )
        cases = {c.pk: c for c in Case.objects.filter(study=study)}
        pairs = []
        for asg in assignments:
            for cid in asg.order:
                case = cases[cid]
                pairs.append({"reader": asg.pseudonym, "case": case.repeat_of_id or cid, "target": cid, "asg": asg})
        if not pairs or not questions:
            return SimulationResult(len(assignments), 0)
        info = pd.DataFrame(
            [
                {"case": c.pk, "is_pie": c.is_pie, **{f"truth_{k}": v for k, v in c.hidden_truth.items()}}
                for c in cases.values()
            ]
        )
        frame = pd.DataFrame([{k: p[k] for k in ("reader", "case")} for p in pairs])
        simulated = simulate(frame, info, questions, model, seed)
        have = set(
            Answer.objects.filter(assignment__in=assignments).values_list("assignment_id", "case_id", "question__key")
        )
        now = timezone.now()
        rows, done = [], set()
        for rec in simulated.itertuples(index=False):
            p = pairs[rec.pair]
            asg, cid = p["asg"], p["target"]
            if (asg.pk, cid, rec.question) in have:
                continue
            value = int(rec.value) if questions[rec.question][1] == "likert" else str(rec.value)
            rows.append(
                Answer(
                    reader=asg.reader,
                    case=cases[cid],
                    question=by_key[rec.question],
                    assignment=asg,
                    value=value,
                    created_at=now,
                    updated_at=now,
                    history=[{"value": value, "at": now.isoformat()}],
                    simulated=True,
                )
            )
            done.add((asg, cid))
        Answer.objects.bulk_create(rows)
        for asg, cid in done:
            reading, _ = CaseReading.objects.get_or_create(assignment=asg, case=cases[cid])
            if reading.completed_at is None:
                reading.completed_at = reading.first_viewed_at = reading.last_viewed_at = now
                reading.save(update_fields=["completed_at", "first_viewed_at", "last_viewed_at"])
        for asg in assignments:
            open_cases = CaseReading.objects.filter(assignment=asg, completed_at__isnull=False).count()
            if open_cases >= len(asg.order):
                Assignment.objects.filter(pk=asg.pk, completed_at__isnull=True).update(
                    completed_at=now, started_at=now, last_activity_at=now
                )
    return SimulationResult(len(assignments), len(rows))
