from django.urls import path

from pruning import views, views_experiments

app_name = "pruning"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("status.json", views.job_status, name="job_status"),
    path("start/", views.job_start, name="job_start"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("<int:pk>/requeue/", views.job_requeue, name="job_requeue"),
    # Datasets and experiments (mounted under /jobs/ with the job pages).
    path("datasets/", views_experiments.dataset_list, name="dataset_list"),
    path("datasets/register/", views_experiments.dataset_register_view, name="dataset_register"),
    path("datasets/synthetic/", views_experiments.dataset_synthetic, name="dataset_synthetic"),
    path("experiments/", views_experiments.experiment_list, name="experiment_list"),
    path("experiments/new/", views_experiments.experiment_new, name="experiment_new"),
    path("experiments/<int:pk>/", views_experiments.experiment_detail, name="experiment_detail"),
    path("experiments/<int:pk>/run/", views_experiments.experiment_run, name="experiment_run"),
    path("experiments/<int:pk>/pies/", views_experiments.experiment_select_pies, name="experiment_select_pies"),
    path("experiments/<int:pk>/seed-<int:seed>/<str:name>", views_experiments.run_file, name="run_file"),
    path("pies/<int:pk>.csv", views_experiments.pie_table, name="pie_table"),
]
