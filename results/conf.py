"""The ``results`` app's settings, read at call time with their defaults.

Reading through these functions (never ``getattr(settings, ...)`` scattered
around) keeps the defaults in one place and lets tests override settings.
"""
from django.conf import settings

DEFAULT_TASK_ID_MAX_LENGTH = 255
DEFAULT_GROUP_RESULTS_LIMIT = 1_000
DEFAULT_OUTAGE_TIMEOUT = 60
DEFAULT_ID_BATCH_SIZE = 500
DEFAULT_CHORD_FIRING_TIMEOUT = 300
DEFAULT_SLOW_WRITE_SECONDS = 1.0


def task_id_max_length():
    """``DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH``: 255, or 191 for old MySQL utf8mb4."""
    return getattr(settings, "DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH", DEFAULT_TASK_ID_MAX_LENGTH)


def allow_edits():
    """``DJANGO_CELERY_RESULTS['ALLOW_EDITS']``: may results be changed from the admin and dashboard."""
    return bool(getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("ALLOW_EDITS", False))


def id_first_urls():
    """``DJANGO_CELERY_RESULTS_ID_FIRST_URLS``: also serve the legacy ``<id>/done/`` routes."""
    return getattr(settings, "DJANGO_CELERY_RESULTS_ID_FIRST_URLS", True)


def outage_timeout():
    """``DJANGO_CELERY_RESULTS['OUTAGE_TIMEOUT']``: seconds the database backend retries through an outage (60)."""
    value = getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("OUTAGE_TIMEOUT", DEFAULT_OUTAGE_TIMEOUT)
    return max(float(value), 0.0)


def group_results_limit():
    """``DJANGO_CELERY_RESULTS['GROUP_RESULTS_LIMIT']``: most members a group's JSON view lists (1,000).

    A stored group can name tens of thousands of tasks; reading and encoding
    them all makes one request take seconds. The views list the first ones
    and say how many there are in all.
    """
    return int(getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("GROUP_RESULTS_LIMIT", DEFAULT_GROUP_RESULTS_LIMIT))


def id_batch_size():
    """``DJANGO_CELERY_RESULTS['ID_BATCH_SIZE']``: ids per ``IN (...)`` query (500).

    Well under every database's limit on query parameters (SQLite builds
    before 3.32 allow 999), so a long list of ids is read in several queries.
    """
    return max(int(getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("ID_BATCH_SIZE", DEFAULT_ID_BATCH_SIZE)), 1)


def chord_firing_timeout():
    """``DJANGO_CELERY_RESULTS['CHORD_FIRING_TIMEOUT']``: seconds a chord stays firing before it is swept (300).

    A counter is firing from the moment its header completed until the worker
    that decided has published the body, normally milliseconds. One still
    firing after this long lost its worker in between. Keep it well above
    the time a publish may take (Celery's publish retries, a broker failing
    over): a sweep that comes too early sends the body a second time. The
    sweeper (``results.sweeping``) then publishes the body again.
    """
    value = getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("CHORD_FIRING_TIMEOUT", DEFAULT_CHORD_FIRING_TIMEOUT)
    return max(float(value), 0.0)


def slow_write_seconds():
    """``DJANGO_CELERY_RESULTS['SLOW_WRITE_SECONDS']``: a worker's write that takes longer is logged (1 s).

    A result write is milliseconds; one that takes longer waited, for a
    lock (SQLite's busy timeout: another process was writing), a server
    restarting, or its own retries through an outage. The warning says how
    long, so that contention shows in the workers' logs before it becomes
    an error. 0 turns it off.
    """
    value = getattr(settings, "DJANGO_CELERY_RESULTS", {}).get("SLOW_WRITE_SECONDS", DEFAULT_SLOW_WRITE_SECONDS)
    return max(float(value), 0.0)
