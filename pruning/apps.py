from django.apps import AppConfig


class PruningConfig(AppConfig):
    name = "pruning"
    verbose_name = "Pruning experiments"

    def ready(self) -> None:
        from jobs.kinds import JobKind, register_kind
        from pruning import kinds, readerstudy_source, runners, services_experiments, visibility
        from readerstudy.sources import PIE_SELECTION, StudySource, register_source

        for kind in [
            # The experiment job only coordinates (creates children, then waits for them), so it runs on
            # the default queue and never holds a GPU worker.
            JobKind(
                kinds.EXPERIMENT,
                "Experiment (train, sweep, PIEs for every seed)",
                "default",
                runners.run_experiment,
                on_child_finished=services_experiments.on_child_finished,
                visible_q=visibility.experiment_jobs_q,
            ),
            # Per owner, as the experiments are (pruning.visibility): PIE tables and dataset parameters unblind.
            JobKind(kinds.TRAIN, "Train one seed", "gpu", runners.run_train, visible_q=visibility.child_jobs_q),
            JobKind(
                kinds.SWEEP, "Pruning sweep of one seed", "gpu", runners.run_sweep, visible_q=visibility.child_jobs_q
            ),
            JobKind(
                kinds.METHOD_SWEEP,
                "Sweep of one seed under one more compression method",
                "gpu",
                runners.run_method_sweep,
                visible_q=visibility.child_jobs_q,
            ),
            JobKind(
                kinds.SELECT_PIES,
                "PIE selection",
                "default",
                runners.run_select_pies,
                visible_q=visibility.selection_jobs_q,
            ),  # fmt: skip
            JobKind(
                kinds.MAKE_SYNTHETIC,
                "Render a synthetic CXR-LT dataset",
                "default",
                runners.run_make_synthetic,
                visible_q=visibility.synthetic_jobs_q,
            ),  # fmt: skip
        ]:
            register_kind(kind)
        register_source(
            StudySource(
                PIE_SELECTION,
                "PIE selection",
                readerstudy_source.selection_choices,
                readerstudy_source.selection_candidates,
            )
        )
