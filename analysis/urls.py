from django.urls import path

from analysis import views

app_name = "analysis"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.report_new, name="report_new"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/rerun/", views.report_rerun, name="report_rerun"),
    path("<int:pk>/files/<path:name>", views.report_file, name="report_file"),
]
