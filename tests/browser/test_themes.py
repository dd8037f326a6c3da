"""Light and dark themes in Chromium: every page's text readable (WCAG AA) in both, the switch remembered.

The theme follows the system's ``prefers-color-scheme`` until the header's
switch pins light or dark for this browser. Each page is read in three
ways: the system dark with no choice made, and each theme pinned against
the other system setting (so a pinned theme is seen to win).
"""
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .contrast import low_contrast

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

DARK_CANVAS = re.compile(r"rgb\((\d{1,2}), (\d{1,2}), (\d{1,2})\)")  # every channel below 100


def choose_theme(page, theme):
    page.get_by_label("Theme").select_option(theme)
    expect(page.locator("html")).to_have_attribute("data-theme", theme)


def assert_readable(page, path, at_least=20):
    checked, problems = low_contrast(page)
    assert checked >= at_least, f"{path}: only {checked} elements with text were read"
    distinct = {(problem["where"], problem["color"], problem["background"]): problem for problem in problems}
    assert not distinct, f"{path}: text below WCAG AA contrast:\n" + "\n".join(map(str, distinct.values()))


@pytest.mark.parametrize(
    ("system", "pinned"),
    [("dark", None), ("dark", "light"), ("light", "dark")],
    ids=["system-dark", "light-over-dark-system", "dark-over-light-system"],
)
def test_every_page_is_readable_in_each_theme(every_page, login, operator, live_server, system, pinned):
    page = login(operator)
    page.emulate_media(color_scheme=system)
    if pinned:
        choose_theme(page, pinned)
    expected = pinned or system
    for path in every_page:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")  # the counts and charts htmx loads after the page
        canvas = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert bool(DARK_CANVAS.fullmatch(canvas)) == (expected == "dark"), f"{path}: body is {canvas} in {expected}"
        assert_readable(page, path)
    failure_group = page.goto(live_server.url + reverse("dashboard:failures") + "?window=7d")
    assert failure_group.ok
    page.locator("#insights tbody tr td:first-child a").first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/failures/[0-9a-f]{16}/"))
    page.wait_for_load_state("networkidle")
    assert_readable(page, page.url)
    page.get_by_role("link", name="Retry failures…").click()  # the bulk retry's dry run
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_readable(page, page.url, at_least=10)


def test_the_log_in_page_is_readable_in_the_dark(seeded, page, live_server):
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url + reverse("dashboard:overview"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert_readable(page, page.url, at_least=8)


def test_the_chosen_theme_is_remembered_and_system_restores_following(logged_in, live_server):
    page = logged_in
    page.emulate_media(color_scheme="light")
    assert page.locator("html").get_attribute("data-theme") is None
    choose_theme(page, "dark")
    page.goto(live_server.url + reverse("dashboard:tasks"))
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_label("Theme")).to_have_value("dark")
    assert DARK_CANVAS.fullmatch(page.evaluate("getComputedStyle(document.body).backgroundColor"))

    page.get_by_label("Theme").select_option("")
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
    page.reload()
    assert page.locator("html").get_attribute("data-theme") is None
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    page.emulate_media(color_scheme="dark")
    assert DARK_CANVAS.fullmatch(page.evaluate("getComputedStyle(document.body).backgroundColor"))


@pytest.mark.parametrize("javascript", [False])
def test_without_javascript_the_page_follows_the_system_and_hides_the_switch(logged_in, live_server):
    page = logged_in
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url + reverse("dashboard:tasks"))
    assert DARK_CANVAS.fullmatch(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    expect(page.get_by_label("Theme")).to_be_hidden()
