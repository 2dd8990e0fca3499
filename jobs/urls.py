from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("status.json", views.job_status, name="job_status"),
    path("start/", views.job_start, name="job_start"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("<int:pk>/requeue/", views.job_requeue, name="job_requeue"),
]
