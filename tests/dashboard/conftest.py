"""Fixtures of the dashboard tests: users with and without access, task rows (``tests.factories``)."""
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
