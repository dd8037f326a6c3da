"""The audit trail: every action recorded, listed on /dashboard/audit/ and on each task's page."""
import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from dashboard import actions
from dashboard.models import AuditEntry


@pytest.fixture
def done_actions(operator, make_task, settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    kept, gone = make_task(status="FAILURE"), make_task(status="FAILURE")
    actions.delete(operator, [gone.task_id, "<b>never</b>"])
    actions.revoke(operator, [kept.task_id])
    return kept, gone


def test_each_action_is_one_entry_with_a_row_per_task(done_actions, operator):
    kept, gone = done_actions
    delete, revoke = AuditEntry.objects.order_by("id")
    assert (delete.action, delete.username, delete.user, delete.task_count, delete.succeeded, delete.outcome) == (
        "delete", operator.username, operator, 2, 1, "partial")
    assert [(t.task_id, t.ok) for t in delete.tasks.order_by("id")] == [(gone.task_id, True), ("<b>never</b>", False)]
    assert (revoke.action, revoke.outcome) == ("revoke", "failed")
    assert "Already finished (FAILURE)" in revoke.tasks.get().detail


def test_audit_page_lists_entries_newest_first_escaped(client_viewer, done_actions, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client_viewer.get(reverse("dashboard:audit"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Revoke") < html.index("Delete") and "Partly done" in html and "Failed" in html
    entry = AuditEntry.objects.get(action="delete")
    page = client_viewer.get(reverse("dashboard:audit-entry", args=[entry.pk])).content.decode()
    assert "&lt;b&gt;never&lt;/b&gt;" in page and "<b>never</b>" not in page and "already deleted" in page


def test_audit_page_paginates(client_viewer, operator, settings):
    settings.DASHBOARD = {**settings.DASHBOARD, "AUDIT_PER_PAGE": 2}
    for _ in range(3):
        actions.delete(operator, ["x"])
    first = client_viewer.get(reverse("dashboard:audit")).content.decode()
    assert first.count(reverse("dashboard:audit")) >= 2 and "page=2" in first
    assert client_viewer.get(reverse("dashboard:audit"), {"page": "2"}).status_code == 200
    for bad in ("0", "abc", "99999999999999999999"):
        assert client_viewer.get(reverse("dashboard:audit"), {"page": bad}).status_code == 400


def test_unknown_entry_is_404(client_viewer):
    assert client_viewer.get(reverse("dashboard:audit-entry", args=[999999])).status_code == 404


def test_the_task_page_shows_its_history(client_viewer, done_actions):
    kept, _ = done_actions
    html = client_viewer.get(reverse("dashboard:task", args=[kept.task_id])).content.decode()
    assert "History" in html and "Revoke" in html and "Already finished (FAILURE)" in html


def test_entries_keep_the_name_when_the_user_is_deleted(done_actions, operator):
    User.objects.filter(pk=operator.pk).delete()
    assert set(AuditEntry.objects.values_list("username", flat=True)) == {operator.username}
    assert not AuditEntry.objects.exclude(user=None).exists()


def test_needs_the_view_permission(client, stranger):
    client.force_login(stranger)
    assert client.get(reverse("dashboard:audit")).status_code == 403
