"""Dataset and experiment pages, mounted at the site root: /datasets/... and /experiments/..."""

from django.urls import path

from pruning import views_experiments as views

app_name = "pruning"
urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("datasets/register/", views.dataset_register_view, name="dataset_register"),
    path("datasets/synthetic/", views.dataset_synthetic, name="dataset_synthetic"),
    path("experiments/", views.experiment_list, name="experiment_list"),
    path("experiments/new/", views.experiment_new, name="experiment_new"),
    path("experiments/<int:pk>/", views.experiment_detail, name="experiment_detail"),
    path("experiments/<int:pk>/run/", views.experiment_run, name="experiment_run"),
    path("experiments/<int:pk>/pies/", views.experiment_select_pies, name="experiment_select_pies"),
    path("experiments/<int:pk>/seed-<int:seed>/<str:name>", views.run_file, name="run_file"),
    path("experiments/pies/<int:pk>.csv", views.pie_table, name="pie_table"),
]
