"""The Celery apps that end-to-end test workers run, configured from Django settings.

A worker imports this module (``celery -A tests.e2e.celery_app:<app>``);
the broker, queue and result backend it uses come from the environment
the test fixture gives it (``E2E_*`` variables), and the test process
configures its own instances the same way, through ``configure()``.
"""
import os

from dashboard_project.celery import FILESYSTEM_TRANSPORT
from tests.fixtures.celery_apps import CACHE_BACKEND, DATABASE_BACKEND, make_celery_app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")


def configure(app, broker_url, queue, broker_dir=None):
    """Point ``app`` at the test broker and the test session's own queue."""
    options = {"polling_interval": 0.1}
    if broker_url.startswith("filesystem://"):
        folder, control = os.path.join(broker_dir, "messages"), os.path.join(broker_dir, "control")
        os.makedirs(folder, exist_ok=True)
        os.makedirs(control, exist_ok=True)
        options.update(
            data_folder_in=folder, data_folder_out=folder, control_folder=control, store_processed=False
        )
    else:
        options["visibility_timeout"] = 3600
    app.conf.update(
        broker_url=broker_url,
        # The project's atomic filesystem transport: kombu's own can hand a
        # worker a message file that is not written yet.
        broker_transport=FILESYSTEM_TRANSPORT if broker_url.startswith("filesystem://") else None,
        broker_transport_options=options,
        task_default_queue=queue,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )


def make_app(name, result_backend):
    app = make_celery_app(name)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.result_backend = result_backend
    app.conf.include = ["tests.e2e.tasks", "dashboard.tasks", "results.tasks"]
    if os.environ.get("E2E_BROKER_URL"):
        configure(app, os.environ["E2E_BROKER_URL"], os.environ["E2E_QUEUE"], os.environ.get("E2E_BROKER_DIR"))
    return app


#: Results in the database under test.
app = make_app("e2e", DATABASE_BACKEND)
#: Results in the database, over the filesystem transport whatever the session's broker.
filesystem_app = make_app("e2e_filesystem", DATABASE_BACKEND)
#: Results in Django's cache (Redis, for a worker to share it with the tests);
#: they expire after ten minutes rather than linger in the shared Redis.
cache_app = make_app("e2e_cache", CACHE_BACKEND)
cache_app.conf.result_expires = 600
#: Results in the database; a message is acknowledged only once its task has
#: run and stored its result, and one a lost worker held goes back to the queue.
acks_late_app = make_app("e2e_acks_late", DATABASE_BACKEND)
acks_late_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)
#: The soak's (``tests.e2e.soak``, ``bench/soak.py``): ``acks_late`` as ``acks_late_app``, on apps of their
#: own, so that pointing one at the soak's broker and queue never redirects another test's app (Celery
#: reads the default queue once); the embedded soak's is on the filesystem transport.
soak_app = make_app("e2e_soak", DATABASE_BACKEND)
soak_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)
soak_filesystem_app = make_app("e2e_soak_filesystem", DATABASE_BACKEND)
soak_filesystem_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)
#: Results in the database, pickled (messages stay JSON: a worker running
#: as root refuses to accept pickled messages).
pickle_app = make_app("e2e_pickle", DATABASE_BACKEND)
pickle_app.conf.update(result_serializer="pickle", result_accept_content=["json", "pickle"])
#: Results in the database through a backend with pause points in a chord's firing
#: (``tests.e2e.backends``), ``acks_late``: a test kills the deciding worker there.
chord_fault_app = make_app("e2e_chord_fault", "tests.e2e.backends:PausingDatabaseBackend")
chord_fault_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)
#: The same, for a worker reaching RabbitMQ through a proxy the test partitions (``test_chord_body_publish``).
chord_partition_app = make_app("e2e_chord_partition", "tests.e2e.backends:PausingDatabaseBackend")
chord_partition_app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)
