"""The project's Celery app: ``dashboard_project.celery:app``.

Configuration comes from Django settings under the ``CELERY_`` namespace,
so brokers and backends follow the same environment variables as the web
process.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")

app = Celery("dashboard_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

FILESYSTEM_TRANSPORT = "dashboard_project.broker:Transport"


@app.on_after_configure.connect
def publish_filesystem_messages_atomically(sender, source, **kwargs):
    """Use the atomic filesystem transport (``dashboard_project.broker``) for ``filesystem://``."""
    if str(source.broker_url or "").startswith("filesystem://") and not source.broker_transport:
        source.broker_transport = FILESYSTEM_TRANSPORT
