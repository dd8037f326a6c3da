"""The live chord counters page: progress, header states, stuck chords, 304 while nothing changes."""
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import AuditEntry
from results.models import ChordCounter, TaskResult
from tests import factories

URL = reverse("dashboard:chords")
PARTIAL = {"HX-Request": "true", "HX-Target": "chord-table"}


@pytest.fixture
def make_chord(make_task):
    """``make_chord(statuses, count=None, age=...)``: a counter and header tasks in these states (None: no row)."""

    def make(statuses, count=None, age=timedelta(seconds=30), group_id=None):
        created = timezone.now() - age
        ids = []
        for status in statuses:
            task_id = str(uuid.uuid4())
            ids.append(task_id)
            if status is not None:
                make_task(task_id=task_id, status=status, date_created=created, date_started=created, date_done=created)
        remaining = count if count is not None else sum(1 for s in statuses if s not in ("SUCCESS", "FAILURE"))
        return factories.chord_counter(ids, group_id=group_id, count=remaining), ids

    return make


def test_lists_each_running_chord_with_progress_breakdown_and_links(client_viewer, make_chord, make_group):
    counter, ids = make_chord(["SUCCESS", "SUCCESS", "STARTED", None])
    make_group(group_id=counter.group_id)  # its header group was saved
    response = client_viewer.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("dashboard:group", args=[counter.group_id]) in html
    for task_id in ids:
        assert reverse("dashboard:task", args=[task_id]) in html
    assert "2 / 4 done · 2 remaining" in html
    assert '<progress max="4" value="2">' in html
    assert "SUCCESS</span> 2" in html and "STARTED</span> 1" in html and "no result yet</span> 1" in html
    assert "under a minute" in html
    assert "Stuck" not in html
    assert 'aria-current="page"' in html and ">Chords<" in html


def test_a_chord_without_a_stored_group_links_to_its_header_read_from_the_counter(client_viewer, make_chord):
    counter, _ = make_chord(["STARTED"])
    html = client_viewer.get(URL).content.decode()
    group_url = reverse("dashboard:group", args=[counter.group_id])
    assert group_url in html and "group not stored" in html
    assert client_viewer.get(group_url).status_code == 200  # members read from the counter


def test_header_task_ids_are_escaped(client_viewer, make_chord):
    make_chord(["SUCCESS"], count=1, group_id='<b>g</b>')
    html = client_viewer.get(URL).content.decode()
    assert "<b>g</b>" not in html and "&lt;b&gt;g&lt;/b&gt;" in html


def test_a_finished_chord_disappears(client_viewer, make_chord):
    counter, _ = make_chord(["SUCCESS", "STARTED"])
    assert counter.group_id in client_viewer.get(URL).content.decode()
    counter.delete()
    html = client_viewer.get(URL).content.decode()
    assert counter.group_id not in html and "No chord is running" in html


def test_query_count_does_not_grow_with_chords(client_viewer, make_chord, django_assert_max_num_queries):
    for _ in range(8):
        make_chord(["SUCCESS", "STARTED", "PENDING", None])
    # session, user, 2 permission queries, the ETag's two aggregates, the counters,
    # all their header tasks at once, their stored groups
    with django_assert_max_num_queries(9):
        response = client_viewer.get(URL)
    assert response.content.decode().count("<progress") == 8


class TestStuck:
    def test_old_chord_whose_header_tasks_are_all_ready_is_stuck(self, client_viewer, make_chord):
        make_chord(["SUCCESS", "FAILURE"], count=1, age=timedelta(minutes=20))
        html = client_viewer.get(URL).content.decode()
        assert "Stuck:" in html and "All 2 header tasks are ready" in html and "20 min" in html

    def test_old_chord_with_missing_header_rows_and_the_rest_ready_is_stuck(self, client_viewer, make_chord):
        make_chord(["SUCCESS", None], count=1, age=timedelta(hours=2))
        html = client_viewer.get(URL).content.decode()
        assert "Stuck:" in html and "1 header task has no stored result" in html

    def test_a_running_header_task_means_not_stuck(self, client_viewer, make_chord):
        make_chord(["SUCCESS", "STARTED"], age=timedelta(hours=2))
        assert "Stuck:" not in client_viewer.get(URL).content.decode()

    def test_a_young_chord_is_not_stuck(self, client_viewer, make_chord):
        make_chord(["SUCCESS", "SUCCESS"], count=1, age=timedelta(minutes=2))
        assert "Stuck:" not in client_viewer.get(URL).content.decode()

    def test_the_threshold_is_a_setting(self, client_viewer, make_chord, settings):
        settings.DASHBOARD = {**settings.DASHBOARD, "CHORD_STUCK_AFTER": 60}
        make_chord(["SUCCESS", "SUCCESS"], count=1, age=timedelta(minutes=2))
        assert "Stuck:" in client_viewer.get(URL).content.decode()

    def test_no_stored_header_task_means_unknown_age_not_stuck(self, client_viewer, make_chord):
        make_chord([None, None])
        html = client_viewer.get(URL).content.decode()
        assert "unknown (no header task stored yet)" in html and "Stuck:" not in html


def test_unreadable_sub_tasks_are_reported_not_a_500(client_viewer):
    factories.chord_counter(group_id="broken", sub_tasks="not json", count=3)
    response = client_viewer.get(URL)
    assert response.status_code == 200 and "not readable JSON" in response.content.decode()


class TestLivePolling:
    def test_the_partial_polls_every_two_seconds_by_default_while_visible(self, client_viewer, make_chord):
        make_chord(["STARTED"])
        response = client_viewer.get(URL, headers=PARTIAL)
        html = response.content.decode()
        assert html.lstrip().startswith("<section") and "<html" not in html
        assert 'hx-trigger="every 2s" data-poll-while-visible' in html
        assert "Pause" in html

    def test_paused_does_not_poll(self, client_viewer):
        html = client_viewer.get(URL + "?refresh=0", headers=PARTIAL).content.decode()
        assert "hx-trigger" not in html.split("</div>")[0] and "paused" in html and "Resume" in html

    def test_a_bad_interval_falls_back_to_the_default(self, client_viewer):
        response = client_viewer.get(URL + "?refresh=abc")
        assert response.status_code == 200 and "every 2s" in response.content.decode()

    def test_answers_304_while_nothing_changes(self, client_viewer, make_chord, django_assert_max_num_queries):
        counter, ids = make_chord(["SUCCESS", "STARTED", "STARTED"])
        first = client_viewer.get(URL, headers=PARTIAL)
        assert first.status_code == 200 and first.has_header("ETag")
        assert "no-cache" in first["Cache-Control"]
        etag = first["ETag"]
        # session, user, 2 permission queries, the two aggregates: no chord is read, nothing rendered
        with django_assert_max_num_queries(6):
            again = client_viewer.get(URL, headers={**PARTIAL, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""

        # A header task finishing changes the page...
        later = timezone.now() + timedelta(seconds=1)
        TaskResult.objects.filter(task_id=ids[1]).update(status="SUCCESS", date_done=later)
        changed = client_viewer.get(URL, headers={**PARTIAL, "If-None-Match": etag})
        assert changed.status_code == 200 and changed["ETag"] != etag
        # ...and so does the counter counting down.
        etag = changed["ETag"]
        ChordCounter.objects.filter(pk=counter.pk).update(count=1)
        assert client_viewer.get(URL, headers={**PARTIAL, "If-None-Match": etag}).status_code == 200

    def test_the_whole_page_and_the_partial_have_different_etags(self, client_viewer, make_chord):
        make_chord(["STARTED"])
        page = client_viewer.get(URL)
        partial = client_viewer.get(URL, headers=PARTIAL)
        assert page["ETag"] != partial["ETag"]
        assert "HX-Request" in page["Vary"]


def test_needs_the_view_permission(client, stranger):
    assert client.get(URL).status_code == 302
    client.force_login(stranger)
    assert client.get(URL).status_code == 403


def test_the_refresh_select_shows_the_interval_in_use(client_viewer, db):
    default = client_viewer.get(URL).content.decode()
    assert re.search(r'<option value="2" selected>', default)  # live by default, not "paused"
    paused = client_viewer.get(URL + "?refresh=0").content.decode()
    assert re.search(r'<option value="0" selected>', paused)


# --- chords firing, and the sweep button (issue 16) ---------------------------------

SWEEP = reverse("dashboard:chord-sweep")


@pytest.fixture
def firing_chord(make_chord):
    """``firing_chord(seconds)``: a chord whose header is complete, firing for ``seconds`` (its worker lost).

    The counter is what the deciding transaction leaves: ``fired_at``, the
    body's signature and its task id.
    """
    from celery import Celery

    from results.backends.database import DatabaseBackend

    encoder = DatabaseBackend(app=Celery("encoder", set_as_current=False))

    def make(seconds):
        counter, ids = make_chord(["SUCCESS", "SUCCESS"], count=0)
        body = encoder.app.signature(factories.REGISTERED_TASK, args=(10,), options={"task_id": str(uuid.uuid4())})
        ChordCounter.objects.filter(pk=counter.pk).update(
            fired_at=timezone.now() - timedelta(seconds=seconds), body_task_id=body.id,
            body=encoder.encode_chord_body(body))
        counter.refresh_from_db()
        return counter

    return make


def test_a_firing_chord_says_so_and_one_stuck_firing_is_flagged(client_viewer, firing_chord, settings):
    settings.DJANGO_CELERY_RESULTS = {"CHORD_FIRING_TIMEOUT": 120}
    firing_chord(5)
    html = client_viewer.get(URL).content.decode()
    assert "<strong>Firing</strong> since" in html and "the body is being sent" in html and "Stuck" not in html
    firing_chord(600)
    html = client_viewer.get(URL).content.decode()
    assert "was never confirmed sent" in html and html.count("<strong>Stuck:</strong>") == 1
    assert "its worker was lost?" in html and "2 min" in html  # the timeout, stated


def test_the_sweep_button_shows_only_with_edits_and_the_permission(client, operator, viewer, db, settings):
    client.force_login(operator)
    assert SWEEP not in client.get(URL).content.decode(), "ALLOW_EDITS is off"
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    html = client.get(URL).content.decode()
    assert f'action="{SWEEP}"' in html and "csrfmiddlewaretoken" in html
    client.force_login(viewer)
    assert SWEEP not in client.get(URL).content.decode(), "no change_taskresult permission"


def test_a_sweep_is_refused_without_edits_or_the_permission(client, operator, viewer, firing_chord, app, settings):
    counter = firing_chord(3600)
    client.force_login(operator)
    response = client.post(SWEEP)
    assert response.status_code == 403 and b"ALLOW_EDITS" in response.content
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    client.force_login(viewer)
    response = client.post(SWEEP)
    assert response.status_code == 403 and b"results.change_taskresult" in response.content
    assert app.sent == [] and ChordCounter.objects.get(pk=counter.pk).firing
    assert not AuditEntry.objects.exists()


def test_a_sweep_needs_the_csrf_token_and_never_runs_on_get(operator, firing_chord, app, edits):
    counter = firing_chord(3600)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(SWEEP).status_code == 403
    assert client.get(SWEEP).status_code == 405
    assert app.sent == [] and ChordCounter.objects.filter(pk=counter.pk).exists()
    token = client.get(URL).context["csrf_token"]
    assert client.post(SWEEP, {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert [task_id for _, _, _, task_id in app.sent] == [counter.body_task_id]


def test_a_sweep_sends_the_stuck_body_once_and_is_audited(client_operator, operator, firing_chord, app, edits):
    stuck, young = firing_chord(3600), firing_chord(5)
    response = client_operator.post(SWEEP, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert app.sent == [(factories.REGISTERED_TASK, ([3, 3], 10), {}, stuck.body_task_id)]
    assert not ChordCounter.objects.filter(pk=stuck.pk).exists()
    assert ChordCounter.objects.get(pk=young.pk).firing, "its own worker may still send it"
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["Re-send stuck chord bodies: 1 chord body(ies) sent again, 0 already had a result, "
                        "0 left for a later sweep."]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.user, entry.outcome, entry.task_count) == ("sweep_chords", operator, "done", 1)
    audited = entry.tasks.get()
    assert audited.task_id == stuck.body_task_id and audited.ok and stuck.group_id in audited.detail

    client_operator.post(SWEEP)  # nothing left: said so, and audited too
    assert len(app.sent) == 1
    assert "No chord was firing for longer than 300 s" in AuditEntry.objects.first().summary


def test_a_sweep_does_not_send_a_body_that_has_a_result(client_operator, firing_chord, make_task, app, edits):
    stuck = firing_chord(3600)
    make_task(task_id=stuck.body_task_id)  # it ran: its worker was lost after publishing
    client_operator.post(SWEEP)
    assert app.sent == [] and not ChordCounter.objects.filter(pk=stuck.pk).exists()
    assert "1 already had a result" in AuditEntry.objects.get().summary
