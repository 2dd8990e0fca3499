from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from config import views
from config.api import IsResearcher

# The schema describes the researchers' side (is_pie, anchors, hidden repeats, ground truth), so readers get
# none: their client needs only what the reading endpoints return (see README, "JSON API").
RESEARCHERS_ONLY = [IsAuthenticated, IsResearcher]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages without a <link rel=icon> (images, JSON): answer, never 404.
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("img/favicon.svg"), permanent=True))),
    path("no-role/", views.no_role, name="no_role"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("jobs/", include("jobs.urls")),
    path("", include("pruning.urls")),  # /datasets/... and /experiments/...
    path("reports/", include("analysis.urls")),
    path("overview/", include("analysis.urls_overview")),  # the admin's home: experiments, reports, studies
    path("study/", include("readerstudy.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=RESEARCHERS_ONLY), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=RESEARCHERS_ONLY),
        name="api-docs",
    ),
]
