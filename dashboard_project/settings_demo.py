"""Settings of the live demo: ``make run``, ``manage.py rundemo`` and ``manage.py demo``.

The production settings (``dashboard_project.settings``, all read from the
environment as they are) plus what only the demo needs: the ``demo`` app
(its fictional shop's tasks, the ``demo`` and ``rundemo`` commands) and the
shop's periodic tasks for Celery beat. ``make run`` selects this module
(``DJANGO_SETTINGS_MODULE=dashboard_project.settings_demo``), and
``rundemo`` hands it on to the workers, beat, the sender and the web server
it starts. A production deployment never names it.
"""
from .settings import *  # noqa: F403
from .settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "demo"]

# Celery beat, which ``rundemo`` starts: the demo shop's periodic tasks. The
# header names the schedule entry in the results (``periodic_task_name``).
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": every, "args": args, "options": {"headers": {"periodic_task_name": name}}}
    for name, task, every, args in (
        ("sync-inventory", "shop.tasks.sync_inventory", 30.0, ("AMS-1",)),
        ("cleanup-sessions", "maintenance.tasks.cleanup_sessions", 60.0, ()),
    )
}
# The insights' figures, counted by the demo's own workers (``dashboard.tasks``).
CELERY_BEAT_SCHEDULE["rollup-statistics"] = {"task": "dashboard.rollup_statistics", "schedule": 10.0}
# Chords whose deciding worker was lost before publishing their body (``results.tasks``).
CELERY_BEAT_SCHEDULE["sweep-chords"] = {"task": "results.sweep_chords", "schedule": 60.0}
