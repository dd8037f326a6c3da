"""The dashboard's settings, read at call time with their defaults.

Projects override them with a ``DASHBOARD`` dict in their settings; the
``results`` app's own settings (``ALLOW_EDITS``...) stay in ``results.conf``.
"""
from django.conf import settings

DEFAULTS = {
    # Serve the JSON status views of ``results.urls`` to anonymous users.
    "RESULTS_VIEWS_PUBLIC": False,
}


def dashboard_setting(name):
    """The value of ``settings.DASHBOARD[name]``, else its default."""
    return getattr(settings, "DASHBOARD", {}).get(name, DEFAULTS[name])
