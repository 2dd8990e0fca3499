from django.urls import path

from analysis.perception import sizing_views
from analysis.perception import views as perception_views
from analysis.reports import views, views_methods
from analysis.reports.api import ReportWhoApi

app_name = "analysis"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.report_new, name="report_new"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/rerun/", views.report_rerun, name="report_rerun"),
    path("<int:pk>/files/<path:name>", views.report_file, name="report_file"),
    # Cross-method comparison of experiment <pk>
    path("experiments/<int:pk>/methods/", views_methods.experiment_methods, name="experiment_methods"),
    path(
        "experiments/<int:pk>/methods/build/", views_methods.experiment_methods_build, name="experiment_methods_build"
    ),
    path(
        "experiments/<int:pk>/methods/files/<str:name>",
        views_methods.experiment_methods_file,
        name="experiment_methods_file",
    ),
    path(
        "api/experiments/<int:pk>/methods/",
        views_methods.MethodsComparisonApi.as_view(),
        name="api-experiment-methods",
    ),
    # Perception statistics of reader study <pk>
    path("perception/<int:pk>/", perception_views.perception_detail, name="perception"),
    path("perception/<int:pk>/report.html", perception_views.perception_html, name="perception_html"),
    path("perception/<int:pk>/files/<str:name>", perception_views.perception_file, name="perception_file"),
    path("sizing/", sizing_views.sizing_page, name="sizing"),
    path("api/perception/<int:pk>/", perception_views.PerceptionStatsApi.as_view(), name="api-perception"),
    path("api/reports/<int:pk>/who/", ReportWhoApi.as_view(), name="api-report-who"),
]
