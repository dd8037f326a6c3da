"""Running chords watched live in the browser while a real worker finishes their header.

The header tasks wait for a file each; the test releases them one by one,
so every step of the counter is seen, however fast or slow the machine.
"""
import json
import uuid
from datetime import timedelta

import pytest
from celery import chord, states
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.models import AuditEntry
from results.models import ChordCounter, TaskResult
from tests import factories

from ..e2e import tasks
from ..e2e.test_database_backend import body_runs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

HEADER_SIZE = 3
TIMEOUT = 30
LIVE = 20_000  # ms: a few refresh periods and a worker's round trip, with room to spare


@pytest.fixture
def running_chord(app, marker_dir):
    """A chord on the real worker whose header tasks each wait for their gate file."""
    gates = [f"{marker_dir}/go-{index}" for index in range(HEADER_SIZE)]
    result = chord(tasks.wait_for_file.s(gate, index) for index, gate in enumerate(gates))(tasks.collect.s())
    assert ChordCounter.objects.get(group_id=result.parent.id).count == HEADER_SIZE
    yield result, gates
    for gate in gates:  # whatever happened, let the worker's processes go
        open(gate, "a").close()


def release(gate):
    open(gate, "w").close()


def test_the_chords_page_counts_down_as_the_worker_finishes_the_header(logged_in, live_server, running_chord):
    page = logged_in
    result, gates = running_chord
    group_id = result.parent.id

    page.goto(live_server.url + reverse("dashboard:chords"))
    row = page.locator("#chord-table tbody tr", has=page.locator(f'a.id[title="{group_id}"]'))
    expect(row).to_contain_text(f"0 / {HEADER_SIZE} done · {HEADER_SIZE} remaining")
    expect(page.locator("#chord-table .live")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    for done, gate in enumerate(gates[:-1], start=1):
        release(gate)
        expect(row).to_contain_text(f"{done} / {HEADER_SIZE} done · {HEADER_SIZE - done} remaining", timeout=LIVE)
        expect(row.locator(".breakdown")).to_contain_text(f"{states.SUCCESS} {done}")
        assert ChordCounter.objects.get(group_id=group_id).count == HEADER_SIZE - done

    release(gates[-1])
    expect(row).to_have_count(0, timeout=LIVE)  # the body was sent: the chord left the live list
    assert result.get(timeout=TIMEOUT) == list(range(HEADER_SIZE))
    assert not ChordCounter.objects.filter(group_id=group_id).exists()
    assert page.evaluate("window.__sameDocument === true"), "the live refresh reloaded the page"

    # The body ran: its task is on the list.
    page.goto(live_server.url + reverse("dashboard:tasks") + f"?q={result.id}")
    expect(page.locator("#task-results tbody tr")).to_have_count(1)
    expect(page.locator("#task-results tbody .badge")).to_have_text(states.SUCCESS)
    assert TaskResult.objects.get(task_id=result.id).task_name == "tests.e2e.tasks.collect"


def test_a_running_chord_links_to_its_group_page_which_follows_it_live(logged_in, live_server, running_chord):
    page = logged_in
    result, gates = running_chord
    group_id = result.parent.id

    page.goto(live_server.url + reverse("dashboard:chords"))
    page.locator(f'#chord-table a.id[title="{group_id}"]').click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:group", args=[group_id]))
    members = page.locator("#group-members")
    expect(members.locator("tbody tr")).to_have_count(HEADER_SIZE)
    page.get_by_label("Live refresh").select_option("2")
    expect(members.locator(".live")).to_be_visible()

    for done, gate in enumerate(gates[:-1], start=1):
        release(gate)
        expect(members.locator(".breakdown")).to_contain_text(f"{states.SUCCESS} {done}", timeout=LIVE)
        expect(members.locator("tbody .badge", has_text=states.SUCCESS)).to_have_count(done)
        expect(members).to_contain_text(f"Chord running: {HEADER_SIZE - done} of {HEADER_SIZE} header tasks")

    # The last one sends the body and the counter goes: the page says so and stops polling.
    release(gates[-1])
    expect(members).to_contain_text("This chord has finished", timeout=LIVE)
    assert result.get(timeout=TIMEOUT) == list(range(HEADER_SIZE))
    assert page.dialogs == []


def test_an_operator_sends_a_stuck_chords_body_from_the_page(login, operator, live_server, app, marker_dir):
    """A chord left firing by a lost worker: the button sends its body to the real worker, which runs it once."""
    header = [factories.task_result(task_id=str(uuid.uuid4()), result=json.dumps(index)).task_id for index in range(2)]
    counter = factories.chord_counter(header, count=0)
    log = f"{marker_dir}/body.log"
    body = app.signature("tests.e2e.tasks.record_body", args=(log,), options={"task_id": str(uuid.uuid4())})
    ChordCounter.objects.filter(pk=counter.pk).update(
        fired_at=timezone.now() - timedelta(hours=1), body_task_id=body.id, body=app.backend.encode_chord_body(body))

    page = login(operator, reverse("dashboard:chords"))
    row = page.locator("#chord-table tbody tr", has=page.locator(f'a.id[title="{counter.group_id}"]'))
    expect(row).to_contain_text("was never confirmed sent")
    page.get_by_role("button", name="Re-send stuck chord bodies").click()
    expect(page.locator(".messages")).to_contain_text("1 chord body(ies) sent again")
    expect(page.locator("#chord-table")).to_contain_text("No chord is running.")
    assert app.AsyncResult(body.id).get(timeout=TIMEOUT) == [0, 1]
    assert len(body_runs(log)) == 1
    assert AuditEntry.objects.get().action == "sweep_chords"
