from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Forgettability and perception reports"

    def ready(self) -> None:
        from analysis.perception import services as perception
        from analysis.perception import sizing
        from analysis.reports import runners, selectors, services, views_methods
        from jobs.kinds import JobKind, register_kind
        from pruning.hooks import ExperimentFollowUp, register_follow_up
        from pruning.visibility import experiment_jobs_q

        # Forgettability + PIE report (Figs 1-5) from prediction stores: CPU work, default queue.
        register_kind(
            JobKind(
                services.JOB_KIND,
                "Forgettability and PIE report",
                "default",
                runners.run_report,
                visible_q=selectors.report_jobs_q,
            )
        )
        # Cross-method comparison of an experiment's sweeps (one per compression method): CPU work.
        register_kind(
            JobKind(
                views_methods.JOB_KIND,
                "Cross-method comparison",
                "default",
                views_methods.run_methods_report,
                visible_q=experiment_jobs_q,  # per owner, as the experiment is
            )
        )
        # A study's perception statistics (Figure 6 and the reader-aware models): CPU work, default queue.
        register_kind(
            JobKind(
                perception.JOB_KIND,
                "Perception statistics",
                "default",
                perception.run_perception,
                visible_q=perception.jobs_visible_q,
            )
        )
        # Study sizing (simulated power over readers x cases): CPU work, default queue; seen like a study's jobs.
        register_kind(
            JobKind(sizing.JOB_KIND, "Study sizing", "default", sizing.run_sizing, visible_q=perception.jobs_visible_q)
        )
        # An experiment's report, started by the pipeline once its PIEs are selected.
        register_follow_up(
            ExperimentFollowUp(
                "report",
                "Forgettability and PIE report",
                services.JOB_KIND,
                services.report_create_for_experiment,
            )
        )
