"""Every page on a phone-sized screen (390 px) in Chromium: nothing wider than the screen, actions reachable.

A table may be wider than the phone: it scrolls inside its own box, and the
page does not. Each page is screenshotted into the test's temporary folder
(the README's phone pictures come from test_screenshots.py).
"""
import re

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from results.models import TaskResult

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

PHONE = {"width": 390, "height": 844}


def assert_fits(page, path):
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{path}: the page is {widths[0]} px wide on a {widths[1]} px screen"
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('.page *')).filter(e => {
                 const box = e.getBoundingClientRect();
                 return e.checkVisibility() && box.width > 0 && box.right > document.documentElement.clientWidth + 1
                        && !e.closest('.table-container, table, pre, .frames, .chart-svg');
               }).slice(0, 5).map(e => e.tagName + '.' + e.className)"""
    )
    assert not wide, f"{path}: sticking out of the screen: {wide}"


def test_every_page_fits_a_phone(every_page, login, operator, live_server, tmp_path):
    page = login(operator)
    page.set_viewport_size(PHONE)
    for path in every_page:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert_fits(page, path)
        name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].strip("/").lower()) or "overview"
        shot = tmp_path / f"phone-{name}{'-filtered' if '?' in path else ''}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
    page.goto(live_server.url + reverse("dashboard:failures") + "?window=7d")
    page.locator("#insights tbody tr td:first-child a").first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/failures/[0-9a-f]{16}/"))
    page.wait_for_load_state("networkidle")
    assert_fits(page, page.url)


def test_on_a_phone_the_filters_fold_and_the_table_scrolls_inside_itself(seeded, logged_in, live_server):
    page = logged_in
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("dashboard:tasks"))
    search = page.get_by_role("searchbox")
    expect(search).to_be_hidden()
    page.get_by_text("Filters", exact=True).click()
    expect(search).to_be_visible()
    assert search.bounding_box()["width"] > 250  # a field as wide as the screen, not a sliver
    table = page.locator("#task-results .table-container")
    sizes = table.evaluate("box => [box.scrollWidth, box.clientWidth]")
    assert sizes[0] > sizes[1] <= PHONE["width"]  # wider than the screen, scrolled inside its box
    table.evaluate("box => box.scrollBy(200, 0)")
    assert table.evaluate("box => box.scrollLeft") > 0
    assert page.evaluate("window.scrollX") == 0

    page.get_by_text("Filters", exact=True).click()  # folded again
    expect(search).to_be_hidden()
    page.set_viewport_size({"width": 1400, "height": 900})  # a wide window: the form unfolds, no summary
    expect(search).to_be_visible()
    expect(page.get_by_text("Filters", exact=True)).to_be_hidden()


def test_on_a_phone_a_failed_tasks_actions_are_on_screen(seeded, login, operator, live_server):
    failed = TaskResult.objects.filter(status=states.FAILURE).first()
    page = login(operator)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("dashboard:task", args=[failed.task_id]))
    actions = page.locator("#task-actions .button")
    expect(actions.first).to_be_visible()
    assert actions.count() >= 1
    for action in actions.all():
        box = action.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{action.text_content()} off screen: {box}"
    traceback = page.locator("#traceback")
    expect(traceback).to_be_visible()
    assert traceback.bounding_box()["width"] <= PHONE["width"]
