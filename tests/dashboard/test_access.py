"""Who may see the dashboard: logged-in users with ``results.view_taskresult``."""
import pytest
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

PAGES = [
    "dashboard:overview", "dashboard:tasks", "dashboard:task-count",
    "dashboard:task-names", "dashboard:workers", "dashboard:periodic",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", PAGES)
def test_users_without_the_permission_get_a_403_page(client, stranger, name):
    client.force_login(stranger)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert b"permission to view task results" in response.content


@pytest.mark.parametrize("name", PAGES)
def test_users_with_the_permission_see_the_page(client_viewer, name):
    assert client_viewer.get(reverse(name)).status_code == 200


def test_superusers_see_the_dashboard(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin)
    assert client.get(reverse("dashboard:tasks")).status_code == 200


def test_inactive_users_are_refused(client, viewer):
    client.force_login(viewer)
    viewer.is_active = False
    viewer.save()
    response = client.get(reverse("dashboard:tasks"))
    assert response.status_code in (302, 403)


def test_task_detail_needs_the_permission_too(client, stranger, make_task):
    task = make_task()
    url = reverse("dashboard:task", args=[task.task_id])
    assert client.get(url).status_code == 302
    client.force_login(stranger)
    assert client.get(url).status_code == 403


def test_an_expired_session_during_an_htmx_request_redirects_the_whole_page(client, db):
    response = client.get(reverse("dashboard:tasks"), headers={"HX-Request": "true", "HX-Target": "task-results"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.parametrize("current", ["http://[::1", "http://testserver:99999/x", "http://other.example/dashboard/"])
def test_an_htmx_request_from_a_page_that_is_not_ours_logs_in_back_to_the_page_asked(client, db, current):
    """``HX-Current-URL`` is the client's word: one that is not a URL (a 500 before) or not this site's is not used."""
    url = reverse("dashboard:tasks") + "?status=FAILURE"
    response = client.get(url, headers={"HX-Request": "true", "HX-Current-URL": current})
    assert response.status_code == 200
    assert response["HX-Redirect"] == redirect_to_login(url).url


def test_the_page_an_htmx_request_came_from_is_where_the_log_in_leads_back(client, db):
    current = reverse("dashboard:groups") + "?q=a"
    response = client.get(reverse("dashboard:tasks"), headers={"HX-Request": "true",
                                                              "HX-Current-URL": f"http://testserver{current}"})
    assert response["HX-Redirect"] == redirect_to_login(current).url


def test_root_leads_to_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:overview")


def test_the_dashboard_is_mounted_at_its_public_path():
    # Literal on purpose: bookmarks and the README name this path; every other test reverses the URL names.
    assert reverse("dashboard:tasks") == "/dashboard/tasks/"


def test_login_page_renders_and_logs_in(client, viewer):
    page = client.get(reverse("login"), {"next": reverse("dashboard:tasks")})
    assert page.status_code == 200
    assert b"Log in" in page.content
    response = client.post(
        reverse("login"), {"username": "viewer", "password": "pw-viewer-123", "next": reverse("dashboard:tasks")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:tasks")
    assert client.get(reverse("dashboard:tasks")).status_code == 200


def test_logout_is_a_post(client_viewer):
    response = client_viewer.post(reverse("logout"))
    assert response.status_code in (200, 302)
    assert client_viewer.get(reverse("dashboard:tasks")).status_code == 302
