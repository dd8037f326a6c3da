"""Rows stored with an empty id: every page that lists them still answers, showing the id as text.

An empty id has no page of its own (``/dashboard/tasks/<id>/`` needs one
character at least), so it is never turned into a link; a ``{% url %}`` of
it would raise ``NoReverseMatch`` and take the whole page down. The rows are
created with the ORM, as they may already be in a database.
"""
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from dashboard.models import AuditEntry
from results.models import TaskResult
from tests import factories
from tests.factories import group_ref, task_ref

EMPTY = "(empty id)"
#: What a link to an empty id would be: a list's URL with an empty segment after it.
DEAD_LINKS = tuple(f'href="{reverse(name)}/"' for name in ("dashboard:tasks", "dashboard:groups"))


@pytest.fixture
def empty_ids(make_task, make_group):
    """One of each kind of row with an empty id, and the rows that name one."""
    now = timezone.now()
    make_task(task_id="", status="FAILURE", task_name="proj.tasks.same", task_args="[7]")
    page = make_task(
        task_id="t-page",
        task_name="proj.tasks.same",
        task_args="[7]",
        status="FAILURE",
        meta=json.dumps({"children": [task_ref(""), group_ref("", [task_ref("")]), task_ref("t-child")]}),
        date_created=now - timedelta(minutes=5),
        date_started=now - timedelta(minutes=5),
        date_done=now - timedelta(minutes=4),
    )
    make_group(group_id="", result=json.dumps(group_ref("", [task_ref("t-page")])))
    make_group(group_id="g-members", result=json.dumps(group_ref("g-members", [task_ref(""), group_ref("", [])])))
    factories.chord_counter(["t-page"], group_id="")
    factories.chord_counter(["", "h-2"], group_id="c-header")
    entry = factories.audit_entry(
        [
            {"task_id": "", "ok": True, "detail": "Sent again as:", "new_task_id": "t-page"},
            {"task_id": "t-page", "ok": False, "detail": "Not sent.", "new_task_id": ""},
        ],
        username="someone",
        outcome="partial",
    )
    return {"page": page, "entry": entry}


def assert_shows_the_empty_id(response):
    assert response.status_code == 200
    html = response.content.decode()
    assert EMPTY in html
    for dead in DEAD_LINKS:
        assert dead not in html
    return html


#: (URL name, id in its path or None, query): the pages that list or name the rows; ``ENTRY`` is the audit entry's.
ENTRY = object()
PAGES = [
    ("dashboard:overview", None, ""),
    ("dashboard:tasks", None, ""),
    ("dashboard:tasks", None, "?status=FAILURE"),
    ("dashboard:groups", None, ""),
    ("dashboard:group", "g-members", ""),
    ("dashboard:chords", None, ""),
    ("dashboard:task", "t-page", ""),
    ("dashboard:task-same-args", "t-page", ""),
    ("dashboard:audit-entry", ENTRY, ""),
]


@pytest.mark.parametrize("name,path_id,query", PAGES, ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(PAGES)])
def test_every_page_shows_an_empty_id_as_text(client_viewer, empty_ids, name, path_id, query):
    args = [] if path_id is None else [empty_ids["entry"].pk if path_id is ENTRY else path_id]
    assert_shows_the_empty_id(client_viewer.get(reverse(name, args=args) + query))


def test_the_task_page_names_an_empty_original_and_group_without_links(client_viewer, empty_ids):
    html = assert_shows_the_empty_id(client_viewer.get(reverse("dashboard:task", args=["t-page"])))
    assert "This task is a retry of" in html and reverse("dashboard:task", args=["t-child"]) in html
    group = html[html.index("<dt>Group</dt>") :]
    assert group[: group.index("</dd>")].count(EMPTY) == 1


def test_the_audit_list_survives(client_viewer, empty_ids):
    assert client_viewer.get(reverse("dashboard:audit")).status_code == 200


def test_an_action_on_all_matching_can_remove_a_row_with_an_empty_id(client, empty_ids, settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    operator = User.objects.create_user("operator", password="pw-operator-123")
    for codename in ("view_taskresult", "delete_taskresult"):
        operator.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="results"))
    client.force_login(operator)
    assert_shows_the_empty_id(client.get(reverse("dashboard:tasks")))
    url = reverse("dashboard:action", args=["delete"])
    confirm = client.get(url, {"scope": "filter", "status": "FAILURE", "task_name": "proj.tasks.same"})
    assert_shows_the_empty_id(confirm)
    ids = json.loads(confirm.context["form"]["task_ids"].value())
    assert sorted(ids) == ["", "t-page"]
    response = client.post(url, {"task_ids": json.dumps([""])})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:tasks")
    assert not TaskResult.objects.filter(task_id="").exists() and TaskResult.objects.filter(task_id="t-page").exists()
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome) == ("delete", "done")
    assert_shows_the_empty_id(client.get(reverse("dashboard:audit-entry", args=[entry.pk])))
