"""URL routes of the project: the admin now; the dashboard and the JSON
status views are mounted as their apps arrive."""
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
