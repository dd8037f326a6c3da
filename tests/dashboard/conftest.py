"""Fixtures of the dashboard tests: users with and without access, task rows (``tests.factories``)."""
import time
import uuid
from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User

from tests import factories


@pytest.fixture
def viewer(db):
    user = User.objects.create_user("viewer", password="pw-viewer-123")
    user.user_permissions.add(Permission.objects.get(codename="view_taskresult", content_type__app_label="results"))
    return user


@pytest.fixture
def stranger(db):
    return User.objects.create_user("stranger", password="pw-stranger-123")


@pytest.fixture
def operator(db):
    """A user who may view, change and delete results (the operator actions' permissions)."""
    return factories.user_with("change_taskresult", "delete_taskresult")


@pytest.fixture
def client_operator(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def client_viewer(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def make_task(db):
    """``make_task(**fields)``: a stored task result (``tests.factories.task_result``)."""
    return factories.task_result


@pytest.fixture
def make_tasks(db):
    """``make_tasks(n, **fields)``: n tasks one second apart, newest last, in one insert."""
    return factories.task_results


@pytest.fixture
def make_group(db):
    """``make_group(group_id=None, result=None, **fields)``: a stored group result."""
    return factories.group_result


@pytest.fixture
def edits(settings):
    """Operator actions allowed (``ALLOW_EDITS``)."""
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}


@pytest.fixture
def app(celery_app_factory):
    """A Celery app (set as current, as the project's is in the web process) that records what it sends.

    ``app.sent`` lists ``(name, args, kwargs, task id)`` per message and
    ``app.sent_at`` the monotonic time of each; ``app.revoked`` is the mocked
    revoke. A task id given by the sender is kept, as Celery keeps it.
    """
    app = celery_app_factory("actions-test", current=True, broker_url="memory://")

    @app.task(name=factories.REGISTERED_TASK, shared=False)  # this app only: not every app made later
    def add(x, y):
        return x + y

    sent, sent_at = [], []

    def send_task(name, args=None, kwargs=None, **options):
        result = app.AsyncResult(options.get("task_id") or str(uuid.uuid4()))
        sent.append((name, args, kwargs, result.id))
        sent_at.append(time.monotonic())
        return result

    with mock.patch.object(app, "send_task", side_effect=send_task), mock.patch.object(app.control, "revoke") as revoke:
        app.sent, app.sent_at, app.revoked = sent, sent_at, revoke
        yield app
