"""The ``results`` app's settings, read at call time with their defaults.

Reading through these functions (never ``getattr(settings, ...)`` scattered
around) keeps the defaults in one place and lets tests override settings.
"""
from django.conf import settings

DEFAULT_TASK_ID_MAX_LENGTH = 255


def task_id_max_length():
    """``DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH``: 255, or 191 for old MySQL utf8mb4."""
    return getattr(settings, "DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH", DEFAULT_TASK_ID_MAX_LENGTH)


def allow_edits():
    """``DJANGO_CELERY_RESULTS['ALLOW_EDITS']``: may results be changed from the admin and dashboard."""
    return bool(getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("ALLOW_EDITS", False))


def id_first_urls():
    """``DJANGO_CELERY_RESULTS_ID_FIRST_URLS``: also serve the legacy ``<id>/done/`` routes."""
    return getattr(settings, "DJANGO_CELERY_RESULTS_ID_FIRST_URLS", True)


DEFAULT_OUTAGE_TIMEOUT = 60


def outage_timeout():
    """``DJANGO_CELERY_RESULTS['OUTAGE_TIMEOUT']``: seconds the database backend retries through an outage (60)."""
    value = getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("OUTAGE_TIMEOUT", DEFAULT_OUTAGE_TIMEOUT)
    return max(float(value), 0.0)
