"""/overview/: the admin's home page (mounted at the site root by config.urls)."""

from django.urls import path

from analysis.reports import views

urlpatterns = [path("", views.overview, name="overview")]
