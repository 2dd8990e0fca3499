from django.apps import AppConfig


class PruningConfig(AppConfig):
    name = "pruning"
    verbose_name = "Pruning experiments and jobs"
