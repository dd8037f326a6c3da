"""Who may see results: one rule for the dashboard pages and the JSON views."""
from functools import wraps

from django.http import JsonResponse
from django.urls import URLPattern

from .conf import dashboard_setting

VIEW_PERMISSION = "results.view_taskresult"


def can_view_results(user):
    """An active, logged-in user holding ``results.view_taskresult`` (superusers hold every permission)."""
    return user.is_authenticated and user.is_active and user.has_perm(VIEW_PERMISSION)


def results_views_access(view):
    """Serve ``view`` (a JSON status view of ``results.urls``) under the rule above.

    Anyone else gets a 403 with a JSON error body, which is what a script
    polling a status URL can read; ``DASHBOARD["RESULTS_VIEWS_PUBLIC"]``
    (read on every request) opens the views to everyone.
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if dashboard_setting("RESULTS_VIEWS_PUBLIC") or can_view_results(request.user):
            return view(request, *args, **kwargs)
        if not request.user.is_authenticated:
            message = "Authentication required: log in to read task results."
        else:
            message = f"Permission denied: reading task results needs the {VIEW_PERMISSION} permission."
        return JsonResponse({"error": message}, status=403)

    return guarded


def with_results_views_access(urlpatterns):
    """``urlpatterns`` (of ``results.urls``) with every view under ``results_views_access``."""
    return [
        URLPattern(pattern.pattern, results_views_access(pattern.callback), pattern.default_args, pattern.name)
        for pattern in urlpatterns
    ]
