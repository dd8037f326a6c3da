"""The Django project that wires `results` and `dashboard` together.

Importing the Celery app here makes `@shared_task` bind to it as soon as
Django starts, and lets workers run with ``celery -A dashboard_project``.
"""
from .celery import app as celery_app

__all__ = ("celery_app",)
