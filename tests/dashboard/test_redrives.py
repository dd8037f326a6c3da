"""Retrying a failure group in bulk: the dry run's figures against what is sent, pacing, slices, the cap,
cancellation, overlapping runs, a broker that is down, gating, CSRF and the audit trail."""
import json
import threading
from datetime import timedelta
from unittest import mock

import pytest
from celery import states
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard import redrives, tasks
from dashboard.actions import RefusalKind
from dashboard.models import AuditedTask, AuditEntry, FailureGroup, Redrive, RedriveItem
from results.models import TaskResult
from tests import factories

from .test_failures import traceback
from .test_insights import counted, task_at

pytestmark = pytest.mark.django_db

REGISTERED = factories.REGISTERED_TASK
TRACEBACK = traceback("KeyError", "'sku-1'", "/srv/app/shop/billing.py", "invoice")
PICKLED = {"content_type": "application/x-python-serialize", "task_args": "gASVBAAAAAAAAABLAYWULg=="}


def failure(make_task, minutes_ago, **fields):
    """A failure of the one cause these tests retry, ``minutes_ago`` minutes ago, sendable unless ``fields`` say."""
    return task_at(make_task, timedelta(minutes=minutes_ago), **{
        "status": states.FAILURE, "task_name": REGISTERED, "task_args": json.dumps(f"({minutes_ago}, 2)"),
        "task_kwargs": "{}", "traceback": TRACEBACK, **fields})


@pytest.fixture
def cause(make_task):
    """One failure group: four failures that can be sent again and one of each kind that cannot."""
    sendable = [failure(make_task, minutes) for minutes in (50, 40, 30, 20)]
    failure(make_task, 45, task_args=json.dumps("(" + "1, " * 400 + "..."))  # cut by Celery
    failure(make_task, 44, task_args=json.dumps("(<secret>, <secret>)"))  # masked by argsrepr
    failure(make_task, 43, **PICKLED)
    failure(make_task, 42, task_name="proj.tasks.gone")
    retried = failure(make_task, 41)
    gone = failure(make_task, 39)
    fixed = failure(make_task, 38)
    entry = AuditEntry.objects.create(username="x", action=AuditEntry.Action.RETRY, outcome="done")
    AuditedTask.objects.create(entry=entry, task_id=retried.task_id, ok=True, new_task_id="retried-once")
    counted()
    gone.delete()  # expired since it was counted
    TaskResult.objects.filter(pk=fixed.pk).update(status=states.SUCCESS)  # stored again, not counted yet
    group = FailureGroup.objects.get()
    assert group.count == 11
    return group, sendable


EXPECTED_REFUSALS = {
    RefusalKind.TRUNCATED: 1, RefusalKind.UNPARSEABLE: 1, RefusalKind.PICKLE: 1, RefusalKind.UNREGISTERED: 1,
    RefusalKind.ALREADY_RETRIED: 1, RefusalKind.GONE: 1, RefusalKind.NOT_FAILED: 1,
}


def retry_url(group):
    return reverse("dashboard:failure-retry", args=[group.digest])


def confirm(client, group, **query):
    """The dry run's page, then its form posted as the operator would."""
    page = client.get(retry_url(group), query)
    assert page.status_code == 200, page.content.decode()[:2000]
    form = {name: field.value() for name, field in ((f.name, f) for f in page.context["confirm"])}
    form["until"] = page.context["confirm"].initial["until"]
    return page, client.post(retry_url(group), {key: value or "" for key, value in form.items()})


def slices_sent(app):
    return [args for name, args, _kwargs, _id in app.sent if name == redrives.TASK_NAME]


def tasks_sent(app):
    return [(name, args, kwargs, new_id) for name, args, kwargs, new_id in app.sent if name != redrives.TASK_NAME]


@pytest.fixture
def fast(settings):
    """No pacing to speak of: the tests that are not about it run at once."""
    settings.DASHBOARD = {"REDRIVE_RATE": 10_000}


class TestDryRunAndRun:
    def test_the_dry_run_counts_each_refusal_and_the_run_sends_exactly_the_rest(
            self, client_operator, operator, cause, edits, app, fast):
        group, sendable = cause
        page, response = confirm(client_operator, group)
        plan = page.context["plan"]
        assert plan.to_send == [task.task_id for task in sendable]  # oldest first
        assert dict(plan.refused) == EXPECTED_REFUSALS and plan.beyond_limit == 0
        text = page.content.decode()
        assert "4 tasks would be sent again" in text and "7 refused" in text and "Retry 4 tasks" in text
        assert "already retried" in text and "pickle" in text and "not registered" in text
        assert tasks_sent(app) == []  # the dry run sends nothing

        redrive = Redrive.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("dashboard:redrive", args=[redrive.pk])
        assert (redrive.state, redrive.planned, redrive.refusals) == ("queued", 4, EXPECTED_REFUSALS)
        assert slices_sent(app) == [[redrive.pk]] and tasks_sent(app) == []  # the web request only queues it

        assert tasks.redrive_failures.run(redrive.pk) == "done"  # what a worker runs
        sent = tasks_sent(app)
        assert [(name, args, kwargs) for name, args, kwargs, _id in sent] == [
            (REGISTERED, [minutes, 2], {}) for minutes in (50, 40, 30, 20)]
        redrive.refresh_from_db()
        assert (redrive.state, redrive.sent, redrive.not_sent, redrive.pending) == ("done", 4, 0, 0)
        links = dict(AuditedTask.objects.filter(entry=redrive.entry).values_list("task_id", "new_task_id"))
        assert links == {task.task_id: new_id for task, (*_call, new_id) in zip(sendable, sent, strict=True)}
        entry = redrive.entry
        assert (entry.action, entry.outcome, entry.username, entry.task_count, entry.succeeded) == (
            "redrive", "done", operator.username, 4, 4)
        assert "4 of 4 sent again, 7 refused" in entry.summary

        # A second run finds nothing left to send: every task is now already retried.
        again = client_operator.get(retry_url(group)).context["plan"]
        assert again.to_send == [] and again.refused[RefusalKind.ALREADY_RETRIED] == 5
        assert client_operator.post(retry_url(group), {"since": "2000-01-01T00:00:00",
                                                        "until": timezone.now().isoformat()}).status_code == 302
        assert Redrive.objects.count() == 1

    def test_since_bounds_the_run_and_until_is_the_dry_runs(self, client_operator, cause, make_task, edits, app, fast):
        group, sendable = cause
        since = timezone.localtime(sendable[2].date_done) - timedelta(seconds=1)
        page = client_operator.get(retry_url(group), {"since": since.strftime("%Y-%m-%dT%H:%M:%S")})
        assert page.context["plan"].to_send == [task.task_id for task in sendable[2:]]
        until = page.context["confirm"].initial["until"]
        late = failure(make_task, 0)  # fails after the dry run: not in what was confirmed
        counted()
        client_operator.post(retry_url(group), {"since": since.strftime("%Y-%m-%dT%H:%M:%S"), "until": until})
        redrives.run_slice(Redrive.objects.get().pk, app)
        assert [new for *_call, new in tasks_sent(app)] == list(
            RedriveItem.objects.order_by("sent_at").values_list("new_task_id", flat=True))
        assert set(RedriveItem.objects.values_list("task_id", flat=True)) == {t.task_id for t in sendable[2:]}
        assert late.task_id not in RedriveItem.objects.values_list("task_id", flat=True)

    def test_the_cap_stops_the_plan_and_counts_the_failures_left(self, operator, cause, settings, app):
        group, sendable = cause
        settings.DASHBOARD = {"REDRIVE_LIMIT": 2}
        plan = redrives.plan(group, group.first_seen, timezone.now(), app)
        assert plan.to_send == [sendable[0].task_id, sendable[1].task_id]
        # 50 and 40 minutes ago sent; the cut (45), masked (44), pickle (43), unregistered (42),
        # already retried (41) looked at on the way; the other four not looked at.
        assert plan.refused_total == 5 and plan.beyond_limit == 4

    def test_a_task_retried_alone_after_the_plan_is_not_sent_twice(self, operator, cause, app, fast):
        group, sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        entry = AuditEntry.objects.create(username="y", action=AuditEntry.Action.RETRY, outcome="done")
        AuditedTask.objects.create(entry=entry, task_id=sendable[0].task_id, ok=True, new_task_id="by-hand")
        redrives.run_slice(redrive.pk, app)
        redrive.refresh_from_db()
        assert len(tasks_sent(app)) == 3 and (redrive.sent, redrive.not_sent) == (3, 1)
        assert redrive.refusals[RefusalKind.ALREADY_RETRIED] == 2
        assert redrive.entry.outcome == "partial"


class TestPacingAndSlices:
    def test_tasks_are_sent_no_faster_than_the_rate(self, operator, cause, settings, app):
        group, _sendable = cause
        settings.DASHBOARD = {"REDRIVE_RATE": 20}
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        redrives.run_slice(redrive.pk, app)
        times = [at for (name, *_rest), at in zip(app.sent, app.sent_at, strict=True) if name != redrives.TASK_NAME]
        assert len(times) == 4
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 1 / 20 - 0.003, gaps

    def test_a_slice_out_of_time_hands_over_and_the_next_goes_on_without_repeating(self, operator, cause, settings,
                                                                                    app):
        group, sendable = cause
        settings.DASHBOARD = {"REDRIVE_RATE": 10, "REDRIVE_SLICE_SECONDS": 0.15}
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        states_seen = []
        while len(states_seen) < 10:
            states_seen.append(redrives.run_slice(redrive.pk, app))
            if states_seen[-1] == "done":
                break
        assert states_seen[0] == "running" and states_seen[-1] == "done" and len(states_seen) > 1
        assert len(slices_sent(app)) == len(states_seen)  # the start's, then one per hand-over
        sent = [call[1] for call in tasks_sent(app)]
        assert sent == [[minutes, 2] for minutes in (50, 40, 30, 20)]

    def test_a_second_message_for_a_run_waits_for_the_lease(self, operator, cause, app, fast):
        group, _sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        held = timezone.now() + timedelta(seconds=30)
        Redrive.objects.filter(pk=redrive.pk).update(state="running", lease_until=held)
        assert redrives.run_slice(redrive.pk, app) == "running"
        assert tasks_sent(app) == [] and len(slices_sent(app)) == 2  # queued again, for when the lease ends
        Redrive.objects.filter(pk=redrive.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # holder lost
        assert redrives.run_slice(redrive.pk, app) == "done" and len(tasks_sent(app)) == 4

    def test_a_task_whose_send_was_cut_short_is_never_sent_again(self, operator, cause, app, fast):
        group, sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        # A slice died between writing the new id and publishing (or recording) the message.
        RedriveItem.objects.filter(task_id=sendable[0].task_id).update(new_task_id="maybe-sent")
        redrives.run_slice(redrive.pk, app)
        assert [call[1] for call in tasks_sent(app)] == [[minutes, 2] for minutes in (40, 30, 20)]
        redrive.refresh_from_db()
        assert (redrive.sent, redrive.not_sent, redrive.entry.outcome) == (3, 1, "partial")


class TestCancelAndOverlap:
    def test_cancel_stops_before_the_next_send_and_releases_the_rest(self, operator, cause, app, fast):
        group, sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        send = app.send_task.side_effect

        def send_then_cancel(name, *args, **options):
            result = send(name, *args, **options)
            if len(tasks_sent(app)) == 2:
                assert redrives.cancel(operator, redrive)  # the slice holds the lease: it stops itself
            return result

        app.send_task.side_effect = send_then_cancel
        assert redrives.run_slice(redrive.pk, app) == "cancelled"
        redrive.refresh_from_db()
        assert (redrive.state, redrive.sent, redrive.not_sent, redrive.cancelled_by) == (
            "cancelled", 2, 2, operator.username)
        assert "cancelled by" in redrive.entry.summary and redrive.entry.outcome == "partial"
        assert RedriveItem.objects.count() == 2  # the two sent; the others were released...
        app.send_task.side_effect = send
        later = redrives.plan(group, group.first_seen, timezone.now(), app)
        assert later.to_send == [sendable[2].task_id, sendable[3].task_id]  # ...for a later run
        assert not redrives.cancel(operator, redrive)  # finished: nothing to cancel

    def test_cancelling_a_run_no_worker_took_yet_ends_it_at_once(self, client_operator, operator, cause, edits, app,
                                                                 fast):
        group, _sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        response = client_operator.post(reverse("dashboard:redrive-cancel", args=[redrive.pk]))
        assert response.status_code == 302
        redrive.refresh_from_db()
        assert (redrive.state, redrive.sent) == ("cancelled", 0) and not RedriveItem.objects.exists()
        assert redrives.run_slice(redrive.pk, app) == "cancelled" and tasks_sent(app) == []  # the queued message
        again = client_operator.post(reverse("dashboard:redrive-cancel", args=[redrive.pk]), follow=True)
        assert "already finished" in str(list(again.context["messages"])[-1])

    def test_two_overlapping_runs_never_send_a_task_twice(self, operator, cause, app, fast):
        group, sendable = cause
        until = timezone.now()
        stale = redrives.plan(group, group.first_seen, until, app)  # planned before the first run took them
        first = redrives.start(operator, group, group.first_seen, until, app)
        assert redrives.plan(group, group.first_seen, until, app).to_send == []  # held by the first run
        real_plan = redrives.plan
        redrives.plan = lambda *args, **kwargs: stale
        try:
            second = redrives.start(operator, group, group.first_seen, until, app)
        finally:
            redrives.plan = real_plan
        assert second.planned == 0 and second.state == "done"
        assert second.refusals[RefusalKind.ALREADY_RETRIED] == 1 + 4
        for redrive in (first, second):
            redrives.run_slice(redrive.pk, app)
        sent_ids = [call[1] for call in tasks_sent(app)]
        assert sorted(sent_ids) == sorted([[minutes, 2] for minutes in (50, 40, 30, 20)])
        assert len(sendable) == 4


def test_a_confirmation_that_lost_the_race_says_so(client_operator, operator, cause, edits, app, fast):
    group, _sendable = cause
    until = timezone.now()
    stale = redrives.plan(group, group.first_seen, until, app)
    redrives.start(operator, group, group.first_seen, until, app)  # another operator's run, confirmed first
    form = {"since": timezone.localtime(group.first_seen).strftime("%Y-%m-%dT%H:%M:%S"), "until": until.isoformat()}
    with mock.patch.object(redrives, "plan", return_value=stale):
        response = client_operator.post(retry_url(group), form, follow=True)
    assert "another run took these tasks first" in str(list(response.context["messages"])[-1])
    assert len(tasks_sent(app)) == 0 and RedriveItem.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_runs_started_at_the_same_moment_share_no_task(operator, cause, app, fast):
    """Both plan before either keeps its plan (a barrier), then both insert: each task goes to one run only."""
    group, _sendable = cause
    until, real_plan, barrier, errors, started = timezone.now(), redrives.plan, threading.Barrier(2), [], []

    def plan_then_wait(*args, **kwargs):
        planned = real_plan(*args, **kwargs)
        barrier.wait(timeout=30)
        return planned

    def start_and_send():
        try:
            redrive = redrives.start(operator, group, group.first_seen, until, app)
            started.append(redrive)
            redrives.run_slice(redrive.pk, app)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(redrives, "plan", side_effect=plan_then_wait):
        threads = [threading.Thread(target=start_and_send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    # One transaction keeps a whole plan: the first to commit holds all four, the other none.
    assert sorted(redrive.planned for redrive in started) == [0, 4]
    sent = sorted(call[1] for call in tasks_sent(app))
    assert sent == sorted([minutes, 2] for minutes in (50, 40, 30, 20))  # each once
    assert RedriveItem.objects.count() == 4 and Redrive.objects.filter(state="done").count() == 2


class TestBrokerDown:
    def test_a_run_that_cannot_be_queued_fails_and_releases_its_tasks(self, client_operator, cause, edits, app, fast):
        group, _sendable = cause
        app.send_task.side_effect = ConnectionRefusedError(111, "Connection refused")
        _page, response = confirm(client_operator, group)
        redrive = Redrive.objects.get()
        assert (redrive.state, redrive.sent) == ("failed", 0) and not RedriveItem.objects.exists()
        assert "broker was unreachable" in redrive.error and redrive.entry.outcome == "failed"
        messages = [str(m) for m in client_operator.get(response["Location"]).context["messages"]]
        assert any("broker was unreachable" in m for m in messages)

    def test_a_broker_lost_while_sending_stops_the_run_and_unsends_nothing(self, operator, cause, app, fast):
        group, _sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        send = app.send_task.side_effect

        def fail_on_the_second(name, *args, **options):
            if len(tasks_sent(app)) == 1:
                raise ConnectionRefusedError(111, "Connection refused")
            return send(name, *args, **options)

        app.send_task.side_effect = fail_on_the_second
        assert redrives.run_slice(redrive.pk, app) == "failed"
        redrive.refresh_from_db()
        assert (redrive.sent, redrive.not_sent) == (1, 3) and "broker was unreachable" in redrive.error
        assert RedriveItem.objects.count() == 1  # the three not sent are free for a later run


class TestPagesAndGating:
    def test_edits_off_or_no_permission_is_403_and_the_button_is_not_shown(self, client, viewer, operator, cause,
                                                                           settings, app):
        group, _sendable = cause
        client.force_login(operator)
        assert client.get(retry_url(group)).status_code == 403  # ALLOW_EDITS off
        assert "Retry failures" not in client.get(reverse("dashboard:failure", args=[group.digest])).content.decode()
        settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
        assert "Retry failures" in client.get(reverse("dashboard:failure", args=[group.digest])).content.decode()
        client.force_login(viewer)
        assert client.get(retry_url(group)).status_code == 403
        assert client.post(retry_url(group), {"since": "2000-01-01T00:00:00",
                                              "until": timezone.now().isoformat()}).status_code == 403
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        assert client.post(reverse("dashboard:redrive-cancel", args=[redrive.pk])).status_code == 403
        page = client.get(reverse("dashboard:redrive", args=[redrive.pk]))  # a viewer may watch
        assert page.status_code == 200 and "Cancel this run" not in page.content.decode()
        assert not Redrive.objects.filter(cancel_requested=True).exists() and len(tasks_sent(app)) == 0

    def test_post_needs_the_csrf_token(self, operator, cause, edits, app):
        group, _sendable = cause
        client = Client(enforce_csrf_checks=True)
        client.force_login(operator)
        form = {"since": "2000-01-01T00:00:00", "until": timezone.now().isoformat()}
        assert client.post(retry_url(group), form).status_code == 403 and not Redrive.objects.exists()
        token = client.get(retry_url(group)).context["csrf_token"]
        assert client.post(retry_url(group), {**form, "csrfmiddlewaretoken": str(token)}).status_code == 302
        redrive = Redrive.objects.get()
        assert client.post(reverse("dashboard:redrive-cancel", args=[redrive.pk])).status_code == 403
        assert client.get(reverse("dashboard:redrive-cancel", args=[redrive.pk])).status_code == 405

    @pytest.mark.parametrize("since,message", [
        ("yesterday", "Enter a valid date/time"),
        ("99999-01-01T00:00:00", "Enter a valid date/time"),
        ("2999-01-01T00:00:00", "must not be later than the dry run"),
        ("2024-01\x00-01T00:00:00", "Enter a valid date/time"),
    ])
    def test_a_bad_since_is_400_with_the_reason(self, client_operator, cause, edits, app, since, message):
        group, _sendable = cause
        response = client_operator.get(retry_url(group), {"since": since})
        assert response.status_code == 400 and message in response.content.decode()
        assert client_operator.post(retry_url(group), {"since": since, "until": "garbage"}).status_code == 400
        assert not Redrive.objects.exists()

    def test_unknown_groups_and_runs_are_404(self, client_operator, edits, app):
        assert client_operator.get(reverse("dashboard:failure-retry", args=["0" * 16])).status_code == 404
        assert client_operator.get(reverse("dashboard:redrive", args=[10**12])).status_code == 404
        assert client_operator.post(reverse("dashboard:redrive-cancel", args=[10**12])).status_code == 404

    def test_the_progress_page_shows_the_new_tasks_and_is_live_until_done(
            self, client_operator, operator, cause, make_task, edits, app, fast, django_assert_max_num_queries):
        group, _sendable = cause
        redrive = redrives.start(operator, group, group.first_seen, timezone.now(), app)
        url = reverse("dashboard:redrive", args=[redrive.pk])
        queued = client_operator.get(url).content.decode()
        assert "0 of 4 sent" in queued and 'hx-trigger="every' in queued and "Cancel this run" in queued
        redrives.run_slice(redrive.pk, app)
        first_new = tasks_sent(app)[0][3]
        make_task(task_id=first_new, status=states.SUCCESS, task_name=REGISTERED)
        with django_assert_max_num_queries(8):
            done = client_operator.get(url, headers={"HX-Request": "true", "HX-Target": "redrive-progress"})
        text = done.content.decode()
        assert "4 of 4 sent" in text and "Cancel this run" not in text
        assert text.count(">SUCCESS<") == 1 and text.count("not stored yet") == 3
        assert "hx-trigger" in text  # done, but still watching the new tasks
        assert not text.lstrip().startswith("<!DOCTYPE")  # the partial only
        for *_call, new_id in tasks_sent(app)[1:]:
            make_task(task_id=new_id, status=states.FAILURE, task_name=REGISTERED)
        settled = client_operator.get(url).content.decode()
        assert settled.count(">FAILURE<") == 3 and "hx-trigger" not in settled
        group_page = client_operator.get(reverse("dashboard:failure", args=[group.digest])).content.decode()
        assert url in group_page  # listed under the cause's retries

    def test_html_in_the_cause_is_shown_as_text(self, client_operator, make_task, edits, app):
        failure(make_task, 5, traceback=traceback("ValueError", "<b>x</b>", "/srv/<i>/a.py", "<u>f</u>"))
        counted()
        group = FailureGroup.objects.get()
        page = client_operator.get(retry_url(group)).content.decode()
        assert "<b>x</b>" not in page and "&lt;b&gt;" in page and "<u>f</u>" not in page
