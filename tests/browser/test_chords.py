"""A running chord watched live in the browser while a real worker finishes its header.

The header tasks wait for a file each; the test releases them one by one,
so every step of the counter is seen, however fast or slow the machine.
"""
import time

import pytest
from celery import chord, states
from playwright.sync_api import expect

from results.models import ChordCounter, TaskResult

from ..e2e import tasks

pytestmark = pytest.mark.django_db(transaction=True)

HEADER_SIZE = 3
TIMEOUT = 30
LIVE = 20_000  # ms: two refresh periods and a worker's round trip, with room to spare


def counter_reaches(group_id, remaining):
    """Poll the database until the chord's counter shows ``remaining`` (gone at zero)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        counter = ChordCounter.objects.filter(group_id=group_id).first()
        if (counter.count if counter else 0) == remaining:
            return
        time.sleep(0.1)
    pytest.fail(f"the chord counter never reached {remaining}")


def test_the_group_page_follows_a_running_chord_live(logged_in, live_server, app, marker_dir):
    page = logged_in
    gates = [f"{marker_dir}/go-{index}" for index in range(HEADER_SIZE)]
    result = chord(tasks.wait_for_file.s(gate, index) for index, gate in enumerate(gates))(tasks.collect.s())
    group_id = result.parent.id
    assert ChordCounter.objects.get(group_id=group_id).count == HEADER_SIZE
    # A chord keeps only its counter; saving the header group gives it a page.
    result.parent.save()

    page.goto(live_server.url + f"/dashboard/groups/{group_id}/")
    members = page.locator("#group-members")
    expect(members.locator("tbody tr")).to_have_count(HEADER_SIZE)
    page.get_by_label("Live refresh").select_option("2")
    expect(members.locator(".live")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    for done, gate in enumerate(gates, start=1):
        open(gate, "w").close()
        counter_reaches(group_id, HEADER_SIZE - done)
        expect(members.locator(".breakdown")).to_contain_text(f"{states.SUCCESS} {done}", timeout=LIVE)
        expect(members.locator("tbody .badge", has_text=states.SUCCESS)).to_have_count(done)

    assert result.get(timeout=TIMEOUT) == list(range(HEADER_SIZE))
    assert not ChordCounter.objects.filter(group_id=group_id).exists()
    assert page.evaluate("window.__sameDocument === true"), "the live refresh reloaded the page"

    # The body ran: its task is on the list.
    page.goto(live_server.url + f"/dashboard/tasks/?q={result.id}")
    expect(page.locator("#task-results tbody tr")).to_have_count(1)
    expect(page.locator("#task-results tbody .badge")).to_have_text(states.SUCCESS)
    assert TaskResult.objects.get(task_id=result.id).task_name == "tests.e2e.tasks.collect"
