"""Keyboard shortcuts in Chromium: each one, the list "?" shows, silence while typing, a visible focus ring."""
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


def ready(page):
    """Wait for dashboard.js (deferred): it shows the Shortcuts button when it has set the keys up."""
    expect(page.get_by_role("button", name="Shortcuts")).to_be_visible()
    return page


def tasks_page(page, live_server):
    """The task list, once dashboard.js is ready."""
    page.goto(live_server.url + reverse("dashboard:tasks"))
    return ready(page)


def focused_row_index(page):
    """Which row of the task table holds the focus (-1: none)."""
    return page.evaluate(
        "Array.from(document.querySelectorAll('#task-results tbody tr'))"
        ".findIndex(row => row.contains(document.activeElement))"
    )


def test_question_mark_lists_the_shortcuts_and_escape_closes_it(seeded, logged_in):
    page = ready(logged_in)
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    for shortcut in ("g o", "g t", "g f", "g c", "j / k", "/", "r", "Enter"):
        expect(dialog.locator("dt", has_text=shortcut).first).to_be_visible()
    page.keyboard.press("j")  # shortcuts are off while the dialog is open
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize(("key", "section"), [("t", "tasks"), ("f", "failures"), ("c", "chords"), ("o", "overview")])
def test_g_then_a_letter_goes_to_that_section(seeded, logged_in, live_server, key, section):
    page = logged_in
    start = "groups" if section == "overview" else "overview"
    page.goto(live_server.url + reverse(f"dashboard:{start}"))
    ready(page)
    page.keyboard.press("g")
    page.keyboard.press(key)
    expect(page).to_have_url(re.compile(re.escape(live_server.url + reverse(f"dashboard:{section}"))))
    expect(page.locator("nav.sections a[aria-current=page]")).to_have_text(re.compile(section, re.IGNORECASE))


def test_slash_focuses_search_and_typing_there_fires_no_shortcut(seeded, logged_in, live_server):
    page = tasks_page(logged_in, live_server)
    search = page.get_by_role("searchbox")
    page.keyboard.press("/")
    expect(search).to_be_focused()
    page.keyboard.type("jkr?gt")
    expect(search).to_have_value("jkr?gt")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    expect(page.get_by_label("Live refresh")).to_have_value("")
    assert focused_row_index(page) == -1
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard:tasks"))))


def test_j_and_k_move_through_the_rows_and_enter_opens_one(seeded, logged_in, live_server):
    page = tasks_page(logged_in, live_server)
    expect(page.locator("#task-results tbody tr")).to_have_count(25)
    page.keyboard.press("j")
    assert focused_row_index(page) == 0
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert focused_row_index(page) == 2
    page.keyboard.press("k")
    assert focused_row_index(page) == 1
    row = page.locator("#task-results tbody tr").nth(1)
    background = row.locator("td").first.evaluate("cell => getComputedStyle(cell.parentElement).backgroundColor")
    assert background != "rgba(0, 0, 0, 0)"  # the current row is marked
    href = row.locator("a[href]").first.get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + href)
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_r_toggles_live_refresh(seeded, logged_in, live_server):
    page = tasks_page(logged_in, live_server)
    refresh = page.get_by_label("Live refresh")
    page.keyboard.press("r")
    expect(refresh).not_to_have_value("")
    expect(page.locator("#task-results .live")).to_be_visible()
    expect(page).to_have_url(re.compile(r"refresh=\d+"))
    page.keyboard.press("r")
    expect(refresh).to_have_value("")
    expect(page.locator("#task-results .live")).to_have_count(0)


def test_tab_shows_a_focus_ring_on_everything_it_reaches(seeded, logged_in, live_server):
    page = tasks_page(logged_in, live_server)
    seen = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        ring = page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                       return [e.tagName + (e.name ? ':' + e.name : '') + (e.textContent || '').trim().slice(0, 20),
                               e.matches(':focus'), s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
        )
        name, own, style, width = ring
        if not own:  # the focus is on a part of a native control (a date input's picker button): Chromium rings it
            continue
        assert style != "none" and width >= 2, f"no visible focus ring on {name}: {style} {width}px"
        seen.add(name)
    assert len(seen) > 20  # the header, the filters, the table's links: all reached
