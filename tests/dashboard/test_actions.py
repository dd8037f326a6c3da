"""Operator actions: gating (ALLOW_EDITS, permissions, CSRF), confirmation, retry/revoke/delete, refusals,
broker down."""
import json
import sys
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard import actions
from dashboard.models import AuditedTask, AuditEntry
from results.models import TaskResult
from tests import factories

REGISTERED = factories.REGISTERED_TASK


def url(action):
    return reverse("dashboard:action", args=[action])


#: Where every action's URL starts (delete-expired's too).
ACTIONS_PREFIX = url("retry").removesuffix("retry/")


def post(client, action, ids, **extra):
    return client.post(url(action), {"task_ids": json.dumps(ids), **extra})


# --- gating -------------------------------------------------------------------


class TestGating:
    @pytest.mark.parametrize("action", ["retry", "revoke", "terminate", "delete"])
    def test_edits_off_every_endpoint_is_403_even_for_a_superuser(self, client, make_task, action):
        task = make_task(status="STARTED")
        client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root-1234"))
        assert client.get(url(action), {"task_id": task.task_id}).status_code == 403
        response = post(client, action, [task.task_id], really="on")
        assert response.status_code == 403 and b"ALLOW_EDITS" in response.content
        assert TaskResult.objects.filter(pk=task.pk).exists() and not AuditEntry.objects.exists()

    def test_edits_off_delete_expired_is_403(self, client_operator):
        assert client_operator.post(reverse("dashboard:delete-expired")).status_code == 403

    def test_edits_off_no_action_button_is_rendered(self, client, make_task):
        client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root-1234"))
        task = make_task()
        detail = client.get(reverse("dashboard:task", args=[task.task_id])).content.decode()
        listing = client.get(reverse("dashboard:tasks")).content.decode()
        for html in (detail, listing):
            # No selection column (the status filter's checkboxes are another form's).
            assert ACTIONS_PREFIX not in html and 'name="task_id"' not in html and "task-selection" not in html

    @pytest.mark.parametrize("action,needs", [("retry", "change_taskresult"), ("revoke", "change_taskresult"),
                                              ("terminate", "change_taskresult"), ("delete", "delete_taskresult")])
    def test_edits_on_each_action_needs_its_permission(self, client, make_task, edits, app, action, needs):
        task = make_task(status="STARTED")
        other = "delete_taskresult" if needs == "change_taskresult" else "change_taskresult"
        client.force_login(factories.user_with(other))
        response = post(client, action, [task.task_id], really="on")
        assert response.status_code == 403 and needs.encode() in response.content
        assert client.get(url(action), {"task_id": task.task_id}).status_code == 403
        client.force_login(factories.user_with(needs))
        assert post(client, action, [task.task_id], really="on").status_code == 302

    def test_buttons_follow_permissions(self, client, make_task, edits):
        task = make_task(status="STARTED")
        client.force_login(factories.user_with("delete_taskresult"))
        html = client.get(reverse("dashboard:task", args=[task.task_id])).content.decode()
        assert url("delete") in html and url("retry") not in html
        listing = client.get(reverse("dashboard:tasks")).content.decode()
        assert 'form="task-selection"' in listing and "Delete all" in listing and "Retry all" not in listing

    def test_anonymous_goes_to_log_in(self, client, edits):
        assert client.post(url("retry"), {}).status_code == 302

    def test_unknown_action_is_404(self, client_operator, edits):
        assert client_operator.get(url("explode"), {"task_id": "x"}).status_code == 404

    def test_post_needs_the_csrf_token(self, operator, make_task, edits, app):
        task = make_task(status="FAILURE")
        client = Client(enforce_csrf_checks=True)
        client.force_login(operator)
        assert post(client, "retry", [task.task_id]).status_code == 403
        assert app.sent == [] and not AuditEntry.objects.exists()
        page = client.get(url("retry"), {"task_id": task.task_id})
        token = page.context["csrf_token"]
        form = {"task_ids": json.dumps([task.task_id]), "csrfmiddlewaretoken": str(token)}
        response = client.post(url("retry"), form)
        assert response.status_code == 302 and len(app.sent) == 1

    def test_get_never_acts(self, client_operator, make_task, edits, app):
        task = make_task(status="FAILURE")
        for action in ("retry", "revoke", "delete"):
            assert client_operator.get(url(action), {"task_id": task.task_id}).status_code == 200
        assert app.sent == [] and not app.revoked.called and TaskResult.objects.filter(pk=task.pk).exists()


# --- confirmation -----------------------------------------------------------------


class TestConfirmation:
    def test_states_the_exact_count_and_carries_the_ids(self, client_operator, make_task, edits, app):
        tasks = [make_task(status="FAILURE") for _ in range(3)]
        response = client_operator.get(url("delete"), {"task_id": [t.task_id for t in tasks]})
        html = response.content.decode()
        assert "exactly 3 tasks" in html
        assert json.loads(response.context["form"]["task_ids"].value()) == [t.task_id for t in tasks]

    def test_all_matching_the_filter_uses_the_lists_filters_and_the_cap(
        self, client_operator, make_tasks, edits, settings, app
    ):
        settings.DASHBOARD = {**settings.DASHBOARD, "ACTION_LIMIT": 5}
        failed = make_tasks(7, status="FAILURE")
        make_tasks(3, status="SUCCESS")
        response = client_operator.get(url("retry"), {"scope": "filter", "status": "FAILURE"})
        html = response.content.decode()
        assert "the newest 5 of more than 5 tasks matching" in html
        newest = [t.task_id for t in sorted(failed, key=lambda t: (t.date_done, t.pk), reverse=True)[:5]]
        assert json.loads(response.context["form"]["task_ids"].value()) == newest
        small = client_operator.get(url("retry"), {"scope": "filter", "status": "SUCCESS"})
        assert "exactly 3 tasks" in small.content.decode() and "every task matching" in small.content.decode()

    def test_a_bad_filter_is_400_with_the_error(self, client_operator, edits):
        response = client_operator.get(url("delete"), {"scope": "filter", "status": "NOPE"})
        assert response.status_code == 400 and b"status" in response.content

    def test_nothing_chosen_is_400(self, client_operator, edits):
        assert client_operator.get(url("delete")).status_code == 400
        response = client_operator.get(url("delete"), {"scope": "filter", "worker": "nobody"})
        assert response.status_code == 400 and b"No task matches these filters" in response.content

    def test_more_than_the_cap_is_refused(self, client_operator, edits, settings):
        settings.DASHBOARD = {**settings.DASHBOARD, "ACTION_LIMIT": 2}
        assert client_operator.get(url("delete"), {"task_id": ["a", "b", "c"]}).status_code == 400
        assert post(client_operator, "delete", ["a", "b", "c"]).status_code == 400

    def test_a_forged_id_list_is_400(self, client_operator, edits):
        for value in ("not json", "{}", "[]", "[1, 2]"):
            assert client_operator.post(url("delete"), {"task_ids": value}).status_code == 400

    @pytest.mark.parametrize("value,reason", [
        ("[" * 1000 + "]" * 1000, "nested too deeply"),
        ("[" * 100_000, "nested too deeply"),
        ('["a", ["b"]]', "must be a JSON list of task ids"),
        ('[{"task_id": "a"}]', "must be a JSON list of task ids"),
        ('["a", 1]', "must be a JSON list of task ids"),
        ("[null]", "must be a JSON list of task ids"),
        ('"a"', "must be a JSON list of task ids"),
        ("NaN", "must be a JSON list of task ids"),
        ('{"a": ["b"]}', "must be a JSON list of task ids"),
        ("[1e999999]", "must be a JSON list of task ids"),
        ('["a\\u0000b"]', "cannot be a task id"),
        ('["\\ud800"]', "cannot be a task id"),
    ])
    def test_a_hostile_id_list_is_400_with_the_reason_and_changes_nothing(
        self, client_operator, make_task, edits, app, value, reason
    ):
        task = make_task(task_id="a", status="STARTED")
        for action in ("retry", "revoke", "delete"):
            response = client_operator.post(url(action), {"task_ids": value})
            assert response.status_code == 400, action
            assert reason in " ".join(response.context["form"].errors["task_ids"]), action
            assert reason in response.content.decode(), action
        assert TaskResult.objects.filter(pk=task.pk).exists() and app.sent == [] and not app.revoked.called
        assert not AuditEntry.objects.exists() and not AuditedTask.objects.exists()

    def test_a_huge_id_list_is_refused(self, client_operator, make_task, edits):
        task = make_task()
        # Under Django's upload limit (2.5 MB): parsed, then refused for its length.
        response = client_operator.post(url("delete"), {"task_ids": json.dumps([task.task_id] * 50_000)})
        assert response.status_code == 400 and b"At most 1000 tasks per action" in response.content
        # Over it: Django refuses the request before any view reads it.
        response = client_operator.post(url("delete"), {"task_ids": json.dumps(["x" * 100] * 30_000)})
        assert response.status_code == 400
        assert TaskResult.objects.filter(pk=task.pk).exists() and not AuditEntry.objects.exists()

    def test_a_confirmation_for_an_id_that_cannot_be_one_is_400(self, client_operator, edits):
        response = client_operator.get(url("delete"), {"task_id": ["ok", "a\x00b"]})
        assert response.status_code == 400 and b"cannot be a task id: it holds a NUL character" in response.content

    def test_more_entries_than_the_cap_are_refused_even_when_repeated(
        self, client_operator, make_task, edits, settings
    ):
        settings.DASHBOARD = {**settings.DASHBOARD, "ACTION_LIMIT": 3}
        task = make_task()
        response = post(client_operator, "delete", [task.task_id] * 4)
        assert response.status_code == 400 and b"At most 3 tasks per action" in response.content
        assert TaskResult.objects.filter(pk=task.pk).exists()

    @pytest.mark.parametrize("action", ["retry", "revoke", "delete"])
    def test_an_id_longer_than_the_audit_column_is_refused_before_anything_is_written(
        self, client_operator, operator, make_task, edits, app, action
    ):
        task = make_task(status="STARTED")
        max_length = AuditedTask._meta.get_field("task_id").max_length
        too_long = "x" * (max_length + 1)
        response = post(client_operator, action, [task.task_id, too_long])
        assert response.status_code == 400
        assert f"longer than the {max_length} characters a task id may have" in response.content.decode()
        assert client_operator.get(url(action), {"task_id": too_long}).status_code == 400
        with pytest.raises(ValueError, match="longer than"):
            {"retry": actions.retry, "revoke": actions.revoke, "delete": actions.delete}[action](operator, [too_long])
        assert TaskResult.objects.filter(pk=task.pk).exists() and app.sent == [] and not app.revoked.called
        assert not AuditEntry.objects.exists() and not AuditedTask.objects.exists()

    def test_retry_confirmation_says_which_would_be_refused(self, client_operator, make_task, edits, app):
        good = make_task(task_name=REGISTERED, task_args=json.dumps("(1, 2)"), task_kwargs=json.dumps("{}"))
        bad = make_task(task_name="not.registered")
        html = client_operator.get(url("retry"), {"task_id": [good.task_id, bad.task_id]}).content.decode()
        assert "1 of them will not be sent again" in html and "not.registered is not registered" in html

    def test_terminate_needs_a_second_confirmation(self, client_operator, make_task, edits, app):
        task = make_task(status="STARTED")
        response = post(client_operator, "terminate", [task.task_id])
        assert response.status_code == 400 and b"tick the box" in response.content
        assert not app.revoked.called
        assert post(client_operator, "terminate", [task.task_id], really="on").status_code == 302
        app.revoked.assert_called_once()
        assert app.revoked.call_args.args == ([task.task_id],)
        assert app.revoked.call_args.kwargs["terminate"] is True and app.revoked.call_args.kwargs["signal"] == "SIGTERM"


# --- retry -----------------------------------------------------------------------


class TestRetry:
    def test_sends_the_stored_call_and_links_the_new_task(self, client_operator, operator, make_task, edits, app):
        task = make_task(task_name=REGISTERED, status="FAILURE", task_args=json.dumps("(2, 'x')"),
                         task_kwargs=json.dumps("{'y': [1, None]}"))
        detail = reverse("dashboard:task", args=[task.task_id])
        response = post(client_operator, "retry", [task.task_id], next=detail)
        assert response.status_code == 302 and response["Location"] == detail
        ((name, args, kwargs, new_id),) = app.sent
        assert (name, args, kwargs) == (REGISTERED, [2, "x"], {"y": [1, None]})
        entry = AuditEntry.objects.get()
        assert (entry.action, entry.outcome, entry.username, entry.task_count, entry.succeeded) == (
            "retry", "done", operator.username, 1, 1)
        assert AuditedTask.objects.get().new_task_id == new_id
        page = client_operator.get(detail).content.decode()
        assert "Retried as" in page and new_id in page and "1 task sent again" in page
        # The new task's page links back once it has a row.
        TaskResult.objects.create(task_id=new_id, task_name=REGISTERED, status="SUCCESS")
        assert "is a retry of" in client_operator.get(reverse("dashboard:task", args=[new_id])).content.decode()

    def test_json_arguments_are_sent_as_they_are(self, operator, make_task, app, edits):
        task = make_task(task_name=REGISTERED, task_args="[1, 2]", task_kwargs='{"z": 3}')
        outcome = actions.retry(operator, [task.task_id])
        assert outcome.status == "done" and app.sent[0][1:3] == ([1, 2], {"z": 3})

    @pytest.mark.parametrize("fields,reason", [
        ({"task_name": None}, "No task name stored"),
        ({"task_args": None}, "No arguments stored"),
        ({"task_args": json.dumps("(" + "1, " * 400 + "...")}, "look truncated"),
        ({"task_args": json.dumps("(<object at 0x7f>,)")}, "do not parse back"),
        ({"task_args": json.dumps("__import__('os').system('true')")}, "do not parse back"),
        ({"task_kwargs": json.dumps("[1]")}, "not a mapping"),
        ({"task_name": "proj.tasks.gone"}, "proj.tasks.gone is not registered"),
        ({"content_type": "application/x-python-serialize", "task_args": "gASVBAAAAAAAAABLAYWULg=="}, "pickle"),
    ])
    def test_refusals_say_why_and_send_nothing(self, client_operator, make_task, edits, app, fields, reason):
        task = make_task(**{"task_name": REGISTERED, "task_args": "[1, 2]", "task_kwargs": "{}", **fields})
        response = post(client_operator, "retry", [task.task_id])
        assert response.status_code == 302 and app.sent == []
        shown = [str(m) for m in client_operator.get(response["Location"]).context["messages"]]
        assert any(reason in m for m in shown), shown
        row = AuditedTask.objects.get()
        assert not row.ok and reason in row.detail and AuditEntry.objects.get().outcome == "failed"

    def test_a_selection_with_unknown_ids_is_partly_done_and_says_which(self, client_operator, make_task, edits, app):
        task = make_task(task_name=REGISTERED)
        response = post(client_operator, "retry", [task.task_id, "gone-1"])
        messages = [str(m) for m in client_operator.get(response["Location"]).context["messages"]]
        assert any("gone-1: No stored result" in m for m in messages)
        assert any("1 task sent again; 1 not." in m for m in messages)
        assert len(app.sent) == 1 and AuditEntry.objects.get().outcome == "partial"


# --- revoke and delete --------------------------------------------------------------


class TestRevoke:
    def test_revokes_unfinished_tasks_and_skips_finished_ones(self, operator, make_task, edits, app):
        running, done = make_task(status="STARTED"), make_task(status="SUCCESS")
        outcome = actions.revoke(operator, [running.task_id, done.task_id, "unknown"])
        app.revoked.assert_called_once()
        assert app.revoked.call_args.args == ([running.task_id],) and app.revoked.call_args.kwargs["terminate"] is False
        assert [t.ok for t in outcome.tasks] == [True, False, False]
        assert "Already finished (SUCCESS)" in outcome.tasks[1].detail
        assert AuditEntry.objects.get().action == "revoke"


class TestDelete:
    def test_deletes_in_batches_and_reports_unknown_ids(self, client_operator, make_tasks, edits, settings,
                                                        django_assert_max_num_queries):
        settings.DASHBOARD = {**settings.DASHBOARD, "DELETE_BATCH_SIZE": 4}
        tasks = make_tasks(10, status="FAILURE")
        keep = make_tasks(2, status="FAILURE")
        ids = [t.task_id for t in tasks] + ["never-there"]
        with django_assert_max_num_queries(30):
            response = post(client_operator, "delete", ids)
        assert response.status_code == 302 and response["Location"] == reverse("dashboard:tasks")
        assert not TaskResult.objects.filter(task_id__in=ids).exists()
        assert TaskResult.objects.filter(pk__in=[t.pk for t in keep]).count() == 2
        entry = AuditEntry.objects.get()
        assert (entry.task_count, entry.succeeded, entry.outcome) == (11, 10, "partial")

    def test_deleting_twice_reports_already_deleted(self, operator, make_task, edits):
        task = make_task()
        assert actions.delete(operator, [task.task_id]).status == "done"
        again = actions.delete(operator, [task.task_id])
        assert again.status == "failed" and "already deleted" in again.tasks[0].detail

    def test_delete_expired_uses_result_expires(self, client_operator, make_task, make_group, edits, app):
        app.conf.result_expires = timedelta(days=1)
        old = make_task(date_created=timezone.now() - timedelta(days=3), date_started=None,
                        date_done=timezone.now() - timedelta(days=2))
        fresh = make_task()
        page = client_operator.get(reverse("dashboard:delete-expired"))
        assert "1 task result" in page.content.decode()
        response = client_operator.post(reverse("dashboard:delete-expired"))
        assert response.status_code == 302
        assert not TaskResult.objects.filter(pk=old.pk).exists() and TaskResult.objects.filter(pk=fresh.pk).exists()
        entry = AuditEntry.objects.get()
        assert entry.action == "delete_expired" and "Deleted 1 expired task result" in entry.summary

    def test_delete_expired_without_result_expires_deletes_nothing(self, operator, make_task, edits, app):
        app.conf.result_expires = None
        make_task(date_done=timezone.now() - timedelta(days=400))
        outcome = actions.delete_expired(operator)
        assert outcome.status == "failed" and TaskResult.objects.count() == 1


# --- broker down ---------------------------------------------------------------------


@pytest.fixture
def unreachable_broker(settings, celery_app_factory):
    """The current app pointed at an AMQP port where nothing listens (Celery's connection settings left as they are)."""
    app = celery_app_factory(
        "broker-down", current=True, broker_url="amqp://guest:guest@127.0.0.1:1//", broker_connection_timeout=2
    )

    @app.task(name=REGISTERED, shared=False)  # this app only: not every app made later
    def add(x, y):
        return x + y

    settings.DASHBOARD = {
        **settings.DASHBOARD,
        "BROKER_RETRY_POLICY": {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1},
    }
    return app


class TestBrokerDown:
    def test_retry_reports_each_task_and_stops_trying(self, client_operator, make_task, edits, unreachable_broker):
        tasks = [make_task(task_name=REGISTERED) for _ in range(3)]
        refused = make_task(task_name=None)
        response = post(client_operator, "retry", [t.task_id for t in tasks] + [refused.task_id])
        assert response.status_code == 302
        messages = [str(m) for m in client_operator.get(response["Location"]).context["messages"]]
        assert sum("broker was unreachable" in m for m in messages) == 3
        assert any("No task name stored" in m for m in messages)
        entry = AuditEntry.objects.get()
        assert (entry.outcome, entry.succeeded, entry.task_count) == ("failed", 0, 4)

    def test_revoke_reports_the_broker_error(self, client_operator, make_task, edits, unreachable_broker):
        task = make_task(status="STARTED")
        response = post(client_operator, "revoke", [task.task_id])
        assert response.status_code == 302
        messages = [str(m) for m in client_operator.get(response["Location"]).context["messages"]]
        assert any("Not revoked: the broker was unreachable" in m for m in messages)
        assert AuditEntry.objects.get().outcome == "failed"


def test_the_apps_task_modules_are_imported_in_the_web_process(celery_app_factory):
    """A web process never imported the tasks modules a worker imports: the registry check does it first."""
    module = "tests.dashboard.web_process_tasks"
    assert module not in sys.modules
    app = celery_app_factory("web-process", include=[module])
    assert "tests.dashboard.web_process_tasks.imported_on_demand" in actions.registered_tasks(app)


def test_next_only_leads_back_into_this_site(client_operator, make_task, edits, app):
    task = make_task(status="FAILURE")
    page = client_operator.get(url("delete"), {"task_id": task.task_id, "next": "javascript:alert(1)"}).content.decode()
    assert 'href="javascript:' not in page
    assert f'href="{reverse("dashboard:tasks")}">Cancel' in page
    response = post(client_operator, "delete", [task.task_id], next="https://evil.example/")
    assert response["Location"] == reverse("dashboard:tasks")
