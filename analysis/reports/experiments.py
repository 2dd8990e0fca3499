"""What a report over a pruning experiment reads: its seeds' finished sweep stores, its dataset's spec,
its PIE selection and one trained checkpoint. Reads pruning's models; writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExperimentInputs:
    title: str
    prediction_paths: list[str]
    dataset_spec: dict
    pie_table_path: str | None
    checkpoint_path: str | None
    pie_selection_id: int | None = None


def experiment_inputs(experiment) -> ExperimentInputs:
    """Inputs of ``experiment`` (a pruning.Experiment); ReportRequestError names what is missing."""
    from analysis.reports.errors import ReportRequestError
    from pruning.models import PIESelection, PruningSweep, TrainingRun

    runs = list(TrainingRun.objects.filter(experiment=experiment).order_by("seed"))
    sweeps = {s.training_run_id: s for s in PruningSweep.objects.filter(training_run__experiment=experiment)}
    unfinished = [r.seed for r in runs if r.pk not in sweeps or not sweeps[r.pk].is_done]
    if not runs:
        raise ReportRequestError(f"Experiment {experiment} has no training runs yet.")
    if unfinished:
        raise ReportRequestError(
            f"Experiment {experiment}: the pruning sweeps of seed(s) {unfinished} are not finished; "
            "a report needs every seed's predictions."
        )
    paths = [str(sweeps[r.pk].store_path) for r in runs]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise ReportRequestError(f"Experiment {experiment}: prediction store {missing[0]} does not exist.")
    pies = PIESelection.objects.of_experiment(experiment).finished().first()
    pie_table = None
    if pies is not None:
        table = Path(pies.table_path) if pies.table_path else pies.table_file
        pie_table = str(table) if table.is_file() else None
    checkpoint = next(
        (r.checkpoint_path for r in runs if r.checkpoint_path and Path(r.checkpoint_path).is_file()), None
    )
    dataset = experiment.dataset
    return ExperimentInputs(
        title=f"{experiment.name} ({dataset.name})",
        prediction_paths=paths,
        dataset_spec=dict(dataset.spec),
        pie_table_path=pie_table,
        checkpoint_path=checkpoint,
        pie_selection_id=pies.pk if pie_table else None,
    )
