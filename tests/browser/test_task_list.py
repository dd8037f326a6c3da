"""The task list in a real browser: htmx filtering, history, sorting, paging.

"Without a full page load" is checked with a marker set on ``window``
before the interaction: a page load would start a fresh ``window`` and lose
it, an htmx swap keeps it.
"""
import re

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from results.models import TaskResult

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

PER_PAGE = 25
ROWS = "#task-results tbody tr"


def column(page, number):
    """The cells of the ``number``-th column (1-based) of the task table."""
    return page.locator(f"{ROWS} td:nth-child({number})")


def shown_ids(page):
    return page.locator(f"{ROWS} a.id").evaluate_all("links => links.map(a => a.title)")


def status_box(page, status):
    """The status filter's checkbox of ``status`` (labelled with its badge)."""
    return page.get_by_role("group", name="Status").get_by_role("checkbox", name=status, exact=True)


def tab_to(page, target, key):
    """Press ``key`` (Tab or Shift+Tab) until ``target`` has the focus, passing at most the other statuses."""
    for _ in range(page.locator("#id_status input").count()):
        if target.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press(key)
    expect(target).to_be_focused()


def mark_window(page):
    page.evaluate("window.__sameDocument = true")


def assert_same_document(page):
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


@pytest.fixture
def history(seeded):
    """The seeded results; the worker of the first failure, to filter on."""
    return TaskResult.objects.filter(status=states.FAILURE).order_by("worker").values_list("worker", flat=True)[0]


def test_filters_swap_the_table_push_the_url_and_back_restores_them(logged_in, live_server, history):
    page, worker = logged_in, history
    page.goto(live_server.url + reverse("dashboard:tasks"))
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    mark_window(page)

    failures = TaskResult.objects.filter(status=states.FAILURE)
    status_box(page, states.FAILURE).check()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=FAILURE")
    expect(page.locator(ROWS)).to_have_count(min(failures.count(), PER_PAGE))
    assert set(column(page, 3).all_inner_texts()) == {states.FAILURE}
    assert_same_document(page)

    page.get_by_label("Worker", exact=True).fill(worker)
    page.get_by_label("Worker", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"\?status=FAILURE&worker=" + re.escape(worker.replace("@", "%40")) + "$"))
    expect(page.locator(ROWS)).to_have_count(min(failures.filter(worker=worker).count(), PER_PAGE))
    assert set(column(page, 4).all_inner_texts()) == {worker}
    assert set(column(page, 3).all_inner_texts()) == {states.FAILURE}
    assert_same_document(page)

    page.go_back()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=FAILURE")
    expect(page.locator(ROWS)).to_have_count(min(failures.count(), PER_PAGE))
    expect(status_box(page, states.FAILURE)).to_be_checked()
    expect(page.get_by_label("Worker", exact=True)).to_have_value("")

    page.go_back()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks"))
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    expect(page.locator("#id_status input:checked")).to_have_count(0)


def test_sorting_a_column_swaps_the_table_and_keeps_the_sort_in_the_url(logged_in, live_server, history):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks") + "?status=SUCCESS")
    mark_window(page)
    header = page.locator("#task-results thead th", has_text="Task name")

    header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"\?status=SUCCESS&sort=task_name$"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    expected = list(
        TaskResult.objects.filter(status=states.SUCCESS)
        .order_by("task_name", "date_done", "id")
        .values_list("task_id", flat=True)[:PER_PAGE]
    )
    assert shown_ids(page) == expected
    names = column(page, 2).all_inner_texts()
    assert names == sorted(names)

    header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=-task_name$"))
    expect(header).to_have_attribute("aria-sort", "descending")
    names = column(page, 2).all_inner_texts()
    assert names == sorted(names, reverse=True)
    assert_same_document(page)

    # A filter change keeps the sort.
    expect(status_box(page, states.SUCCESS)).to_be_checked()
    status_box(page, states.FAILURE).check()
    expect(page).to_have_url(re.compile(r"\?status=FAILURE&status=SUCCESS&sort=-task_name$"))
    expect(header).to_have_attribute("aria-sort", "descending")
    assert_same_document(page)


def test_paging_forward_and_back_to_the_newest(logged_in, live_server, history):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    newest = list(TaskResult.objects.order_by("-date_done", "-id").values_list("task_id", flat=True)[: 3 * PER_PAGE])
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    assert shown_ids(page) == newest[:PER_PAGE]
    mark_window(page)

    page.get_by_role("link", name="Older ›").click()
    expect(page).to_have_url(re.compile(r"\?cursor="))
    expect(page.locator(f"{ROWS} a.id").first).to_have_attribute("title", newest[PER_PAGE])
    assert shown_ids(page) == newest[PER_PAGE : 2 * PER_PAGE]

    page.get_by_role("link", name="Older ›").click()
    expect(page.locator(f"{ROWS} a.id").first).to_have_attribute("title", newest[2 * PER_PAGE])
    assert shown_ids(page) == newest[2 * PER_PAGE : 3 * PER_PAGE]

    page.get_by_role("link", name="‹ Newer").click()
    expect(page.locator(f"{ROWS} a.id").first).to_have_attribute("title", newest[PER_PAGE])

    page.get_by_role("link", name="« Newest").click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks"))
    expect(page.locator(f"{ROWS} a.id").first).to_have_attribute("title", newest[0])
    assert_same_document(page)

    page.go_back()
    expect(page.locator(f"{ROWS} a.id").first).to_have_attribute("title", newest[PER_PAGE])
    expect(page).to_have_url(re.compile(r"\?cursor="))


def test_back_after_a_filter_change_restores_the_list_with_its_enhancements(logged_in, live_server, history):
    """First load, a swap and a history restore each get the script's enhancements, without a script error.

    Back loads the list again from the server (no snapshot) and htmx swaps
    it into the body; the ``page_errors`` fixture fails the test on any
    error a handler throws on the way.
    """
    page, worker = logged_in, history
    page.goto(live_server.url + reverse("dashboard:tasks"))
    copy_buttons = page.locator("#task-results td:first-child button.copy")  # the ids'
    expect(copy_buttons.first).to_be_visible()
    mark_window(page)

    page.get_by_label("Worker", exact=True).fill(worker)
    page.get_by_label("Worker", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"\?worker=" + re.escape(worker.replace("@", "%40")) + "$"))
    expect(page.locator(f"{ROWS} td:nth-child(4)").first).to_have_text(worker)
    expect(copy_buttons.first).to_be_visible()

    page.go_back()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks"))
    expect(page.get_by_label("Worker", exact=True)).to_have_value("")
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    expect(copy_buttons).to_have_count(PER_PAGE)
    for button in copy_buttons.all():
        expect(button).to_be_visible()
    assert_same_document(page)


def test_the_remembered_refresh_interval_applies_on_opening_the_list_not_on_back(logged_in, live_server, history):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    page.get_by_label("Live refresh").select_option("30")
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?refresh=30")
    expect(page.locator("#task-results .live")).to_be_visible()

    # Back shows the list as it was, and the next Back leaves it.
    page.go_back()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks"))
    expect(page.get_by_label("Live refresh")).to_have_value("")
    expect(page.locator("#task-results .live")).to_have_count(0)
    page.go_back()
    expect(page).to_have_url(live_server.url + reverse("dashboard:overview"))

    # Opened again, the list uses the interval chosen last.
    page.goto(live_server.url + reverse("dashboard:tasks"))
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?refresh=30")
    expect(page.get_by_label("Live refresh")).to_have_value("30")
    expect(page.locator("#task-results .live")).to_be_visible()


def test_ticking_two_statuses_filters_the_table_and_pushes_the_url(logged_in, live_server, history):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    mark_window(page)
    statuses = page.get_by_role("group", name="Status")
    for status in states.ALL_STATES:
        expect(status_box(page, status)).not_to_be_checked()

    status_box(page, states.FAILURE).click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=FAILURE")
    statuses.locator(".badge", has_text=states.RETRY).click()  # the badge is the checkbox's label
    expect(status_box(page, states.RETRY)).to_be_checked()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=FAILURE&status=RETRY")
    both = TaskResult.objects.filter(status__in=[states.FAILURE, states.RETRY])
    expect(page.locator(ROWS)).to_have_count(min(both.count(), PER_PAGE))
    expect(page.locator("#result-count")).to_contain_text(f"{both.count()} tasks")
    assert set(column(page, 3).all_inner_texts()) <= {states.FAILURE, states.RETRY}
    assert shown_ids(page) == list(both.order_by("-date_done", "-id").values_list("task_id", flat=True)[:PER_PAGE])

    status_box(page, states.FAILURE).click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=RETRY")
    expect(page.locator(ROWS)).to_have_count(min(both.filter(status=states.RETRY).count(), PER_PAGE))
    assert set(column(page, 3).all_inner_texts()) == {states.RETRY}
    assert_same_document(page)


def test_the_status_checkboxes_work_from_the_keyboard(logged_in, live_server, history):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    failure, retry = status_box(page, states.FAILURE), status_box(page, states.RETRY)
    choice = page.locator(".status-choice", has=page.get_by_role("checkbox", name=states.RETRY, exact=True))

    expect(choice).to_have_css("outline-style", "none")

    # Tab from the search box reaches the first status, then each of the others in turn.
    page.get_by_label("Search").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#id_status input").first).to_be_focused()
    tab_to(page, retry, "Tab")
    expect(choice).to_have_css("outline-style", "solid")  # a visible focus ring around the badge

    page.keyboard.press("Space")
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=RETRY")
    expect(retry).to_be_checked()
    expect(retry).to_be_focused()  # the swap replaced the table only: focus stays put
    retries = TaskResult.objects.filter(status=states.RETRY).count()
    expect(page.locator(ROWS)).to_have_count(min(retries, PER_PAGE))

    tab_to(page, failure, "Shift+Tab")
    page.keyboard.press("Space")
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=FAILURE&status=RETRY")
    expect(failure).to_be_checked()
    assert set(column(page, 3).all_inner_texts()) <= {states.FAILURE, states.RETRY}


@pytest.mark.parametrize("javascript", [False], ids=["without-javascript"])
def test_the_status_checkboxes_filter_without_javascript(logged_in, live_server, history):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    status_box(page, states.FAILURE).check()
    status_box(page, states.RETRY).check()
    page.get_by_role("button", name="Filter").click()  # the plain GET form: a whole page

    filtered = re.escape(reverse("dashboard:tasks")) + r"\?q=&status=FAILURE&status=RETRY&worker="
    expect(page).to_have_url(re.compile(filtered))
    expect(status_box(page, states.FAILURE)).to_be_checked()
    expect(status_box(page, states.RETRY)).to_be_checked()
    both = TaskResult.objects.filter(status__in=[states.FAILURE, states.RETRY]).count()
    expect(page.locator(ROWS)).to_have_count(min(both, PER_PAGE))
    assert set(column(page, 3).all_inner_texts()) <= {states.FAILURE, states.RETRY}


def test_the_live_table_polls_while_its_tab_is_visible_and_not_while_hidden(logged_in, live_server, history):
    page = logged_in
    polls = []
    page.on("request", lambda request: polls.append(request.url) if request.headers.get("hx-trigger") else None)
    page.goto(live_server.url + reverse("dashboard:tasks") + "?refresh=2")
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    page.wait_for_timeout(4500)
    assert len(polls) >= 2, polls  # one every two seconds
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'})")
    polls.clear()
    page.wait_for_timeout(4500)
    assert polls == []
    page.evaluate("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'})")
    page.wait_for_timeout(4500)
    assert len(polls) >= 2, polls


def test_an_unchanged_live_table_is_revalidated_and_a_changed_row_still_shows(logged_in, live_server, history):
    """The browser asks again with the ETag it holds and keeps its copy (the server's 304: test_task_list_polls)."""
    page = logged_in
    polls = []  # (If-None-Match sent, ETag answered)
    page.on("response", lambda response: polls.append(
        (response.request.all_headers().get("if-none-match"), response.all_headers().get("etag")))
        if response.request.headers.get("hx-trigger") == "task-results" else None)
    page.goto(live_server.url + reverse("dashboard:tasks") + "?refresh=2")
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
    page.wait_for_timeout(4500)
    assert any(sent is not None and sent == answered for sent, answered in polls), polls
    newest = TaskResult.objects.order_by("-date_done", "-id").first()
    TaskResult.objects.filter(pk=newest.pk).update(status="BENCH-CHANGED")
    expect(column(page, 3).first).to_have_text("BENCH-CHANGED", timeout=6000)
    expect(page.locator(ROWS)).to_have_count(PER_PAGE)
