from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from jobs import kinds, runners

        kinds.register_kind(
            kinds.JobKind("selfcheck", "Self-check (torch version, device)", "gpu", runners.selfcheck, True)
        )
