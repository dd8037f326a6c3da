"""Values too long for their place in Chromium: names cut, whole on hover and to copy; long text scrolls in its box."""
import json

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import task_result

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

LONG_NAME = "payments.tasks." + "reconcile_the_ledger_of_every_merchant_" * 5 + "end"
LONG_WORKER = "celery@" + "a-very-long-kubernetes-pod-name-" * 4 + "x1"


@pytest.fixture
def long_task(transactional_db):
    return task_result(
        task_name=LONG_NAME,
        worker=LONG_WORKER,
        status=states.FAILURE,
        task_args=json.dumps([{"line": n, "text": "x" * 80} for n in range(400)]),
        traceback="Traceback (most recent call last):\n" + "".join(
            f'  File "/app/payments/step_{n}.py", line {n}, in run\n    step_{n}()\n' for n in range(300)
        ) + "ValueError: the ledger does not balance",
    )


def test_a_long_name_is_cut_shown_whole_on_hover_and_copied_whole(long_task, logged_in, live_server):
    page = logged_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + reverse("dashboard:tasks"))
    row = page.locator("#task-results tbody tr", has=page.locator(f'[title="{LONG_NAME}"]'))
    name = row.locator(f'.cut[title="{LONG_NAME}"]')
    expect(name).to_be_visible()
    cut = name.evaluate("cell => [cell.scrollWidth, cell.clientWidth, getComputedStyle(cell).textOverflow]")
    assert cut[0] > cut[1] and cut[2] == "ellipsis"  # cut, with an ellipsis
    assert name.bounding_box()["width"] < 400
    expect(row.locator(f'.cut[title="{LONG_WORKER}"]')).to_be_visible()

    copy = name.locator("xpath=following-sibling::button[1]")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_class("copy copied")
    assert page.evaluate("navigator.clipboard.readText()") == LONG_NAME


def test_long_arguments_and_tracebacks_scroll_inside_their_box(long_task, logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:task", args=[long_task.task_id]))
    expect(page.locator("#traceback .exception")).to_contain_text("the ledger does not balance")
    for box in page.locator("pre.block, #traceback .frames").all():
        if box.evaluate("element => element.scrollHeight > 1000"):
            height = box.evaluate("element => [element.scrollHeight, element.clientHeight]")
            assert height[1] < 700 < height[0], f"not scrolled inside its box: {height}"
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.checkVisibility() && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className)""")
    assert not wide, f"wider than the window: {wide}"
    heading = page.get_by_role("heading", level=1)
    assert heading.bounding_box()["width"] <= 1400
