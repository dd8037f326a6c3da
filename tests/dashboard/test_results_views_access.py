"""Who may call the JSON status views mounted under /results/ (dashboard.access)."""
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

pytestmark = pytest.mark.django_db

URLS = [
    reverse("celery-is_task_successful", args=["t1"]),
    reverse("celery-task_status", args=["t1"]),
    reverse("celery-is_group_successful", args=["g1"]),
    reverse("celery-group_status", args=["g1"]),
]


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("operator", password="x")


def grant_view_permission(user):
    user.user_permissions.add(Permission.objects.get(codename="view_taskresult", content_type__app_label="results"))


def status_codes(client):
    return [client.get(url).status_code for url in URLS]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_gets_a_json_403(client, url):
    response = client.get(url)
    assert response.status_code == 403
    assert response.json() == {"error": "Authentication required: log in to read task results."}


def test_user_without_the_permission_gets_a_json_403(client, user):
    client.force_login(user)
    response = client.get(URLS[1])
    assert response.status_code == 403
    assert response.json() == {
        "error": "Permission denied: reading task results needs the results.view_taskresult permission."
    }
    assert set(status_codes(client)) == {403}


def test_user_with_the_permission_is_served(client, user):
    grant_view_permission(user)
    client.force_login(user)
    # group/status of an unknown group is a 404; the others answer.
    assert status_codes(client) == [200, 200, 200, 404]
    assert client.get(URLS[1]).json() == {"task": {"id": "t1", "status": "PENDING", "result": None}}


def test_inactive_user_is_refused(client, user):
    grant_view_permission(user)
    client.force_login(user)
    user.is_active = False
    user.save()
    assert set(status_codes(client)) == {403}


def test_superuser_is_served(admin_client):
    assert status_codes(admin_client) == [200, 200, 200, 404]


def test_public_setting_opens_them_to_everyone(client, settings):
    settings.DASHBOARD = {"RESULTS_VIEWS_PUBLIC": True}
    assert status_codes(client) == [200, 200, 200, 404]
    settings.DASHBOARD = {"RESULTS_VIEWS_PUBLIC": False}
    assert set(status_codes(client)) == {403}


def test_bad_ids_are_refused_before_anything_else(client):
    # A literal path: an id outside the URL pattern has no reverse().
    assert client.get("/results/task/status/a%20b/").status_code == 403
