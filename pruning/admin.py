from django.contrib import admin

from pruning.models import Dataset, Experiment, PIESelection, PruningSweep, TrainingRun


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "n_train", "n_val", "n_test", "validated_at")
    list_filter = ("kind",)
    # Paths and counts come from validation (the Datasets page); editing them here would skip it.
    readonly_fields = ("kind", "spec", "class_names", "n_train", "n_val", "n_test", "validated_at",
                       "images_checked", "created_by", "created_at")  # fmt: skip


class TrainingRunInline(admin.TabularInline):
    model = TrainingRun
    fields = ("seed", "job", "best_epoch", "best_val_loss", "epochs_run", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "dataset", "arch", "source", "epochs", "image_size", "created_at")
    list_filter = ("arch", "source", "dataset")
    search_fields = ("name",)
    inlines = [TrainingRunInline]
    # The recipe is fixed once runs exist: results must match the settings shown.
    readonly_fields = ("dataset", "source", "arch", "init", "seeds", "epochs", "batch_size", "lr", "patience",
                       "image_size", "prune_method", "sparsities", "job", "artifact_key", "follow_ups_requested_at",
                       "created_by", "created_at")  # fmt: skip


@admin.register(PruningSweep)
class PruningSweepAdmin(admin.ModelAdmin):
    list_display = ("id", "training_run", "n_done", "finished_at")
    readonly_fields = ("training_run", "job", "predictions_path", "achieved_sparsity", "n_done", "finished_at")


@admin.register(PIESelection)
class PIESelectionAdmin(admin.ModelAdmin):
    list_display = ("id", "experiment", "method", "definition", "sparsity", "q", "n_images", "n_pies", "finished_at")
    list_filter = ("definition", "method")
    readonly_fields = ("experiment", "method", "sparsity", "q", "definition", "job", "table_path", "n_images", "n_pies",
                       "n_nan", "tie_group_size", "summary", "created_at", "finished_at")  # fmt: skip
