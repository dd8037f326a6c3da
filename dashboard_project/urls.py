"""URL routes of the project: the admin, the dashboard and its log-in pages,
the JSON status views of ``results`` under ``/results/``, and ``/healthz``.

``/`` leads to the dashboard."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from dashboard.access import with_results_views_access
from dashboard.views.metrics import metrics_view
from results import urls as results_urls

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view),  # also under the dashboard's own prefix (dashboard:metrics)
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", include("dashboard.urls")),
    # The JSON status views, behind the dashboard's access rule.
    path("results/", include(with_results_views_access(results_urls.urlpatterns))),
    path("", RedirectView.as_view(pattern_name="dashboard:overview", permanent=False)),
]
