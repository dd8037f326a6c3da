"""The insights pages in Chromium: every chart's hover figures are its table's, bars open their tasks, live refresh."""
import re

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

# ``seeded`` comes before ``logged_in`` in every test: logging in lands on
# the overview, whose figures would then be fresh, and empty, for the next
# STATISTICS_STALE seconds.

#: Every mark of every chart on the page, and every cell of the charts' tables, as the browser sees them.
READ_CHARTS = """() => {
  const charts = [];
  for (const figure of document.querySelectorAll('figure.chart')) {
    const marks = [...figure.querySelectorAll('svg [data-series][data-index]')].map(mark => ({
      key: mark.dataset.series + '|' + mark.dataset.index,
      title: mark.querySelector(':scope > title').textContent,
    }));
    const cells = {};
    for (const cell of figure.querySelectorAll('details.chart-table td[data-series][data-index]')) {
      const bucket = cell.closest('tr').querySelector('th').textContent;
      cells[cell.dataset.series + '|' + cell.dataset.index] = {bucket: bucket, text: cell.textContent};
    }
    charts.push({title: figure.querySelector('figcaption').textContent, marks: marks, cells: cells});
  }
  return charts;
}"""


def assert_hover_figures_are_the_tables(page):
    charts = page.evaluate(READ_CHARTS)
    assert charts, "the page draws charts"
    for chart in charts:
        assert chart["marks"], f"{chart['title']}: no mark drawn"
        for mark in chart["marks"]:
            cell = chart["cells"][mark["key"]]
            series = mark["key"].rsplit("|", 1)[0]
            assert mark["title"] == f"{cell['bucket']} · {series}: {cell['text']}", chart["title"]


@pytest.mark.parametrize("window", ["1h", "24h", "7d"])
def test_the_overview_charts_hover_figures_equal_their_tables(seeded, logged_in, live_server, window):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:overview") + f"?window={window}&refresh=0")
    expect(page.locator("#insights .headline").first).to_contain_text("Tasks finished")
    assert_hover_figures_are_the_tables(page)


def test_a_task_names_charts_hover_figures_equal_their_tables(seeded, logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:task-names") + "?window=7d&refresh=0")
    first = page.locator("#insights tbody tr td:first-child a").first
    name = first.text_content()
    first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard:task-name", args=[name]))))
    expect(page.locator("figure.chart")).to_have_count(3)
    assert_hover_figures_are_the_tables(page)


def test_a_failure_bar_opens_the_failures_of_its_bucket(seeded, logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:overview") + "?window=7d&refresh=0")
    bar = page.locator(f'a:has(rect.chart-segment[data-series="{states.FAILURE}"])').first
    figure = bar.locator("rect").get_attribute("data-index")
    cell = page.locator(f'details.chart-table td[data-series="{states.FAILURE}"][data-index="{figure}"]').first
    expected = int(cell.text_content().replace(",", ""))
    bar.dispatch_event("click")  # a thin segment may be covered by its neighbour's outline
    expect(page).to_have_url(re.compile(r"status=FAILURE.*date_done_before="))
    expect(page.locator("#task-results tbody tr")).to_have_count(min(expected, 25))
    expect(page.locator("#task-results tbody .badge", has_text=states.SUCCESS)).to_have_count(0)


def test_changing_the_window_swaps_the_figures_and_pushes_the_url(seeded, logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:workers"))
    expect(page.locator("#insights tbody tr")).not_to_have_count(0)
    page.get_by_label("Window").select_option("7d")
    expect(page).to_have_url(re.compile(r"window=7d"))
    expect(page.locator("#insights .freshness")).to_contain_text("Last 7 days")
    page.get_by_role("link", name="Pause").click()
    expect(page.locator("#insights")).to_contain_text("paused")
    expect(page.locator("#insights")).not_to_have_attribute("hx-trigger", re.compile("every"))


@pytest.mark.parametrize("javascript", [False], ids=["without-javascript"])
def test_the_pages_work_without_javascript(seeded, logged_in, live_server):
    page = logged_in
    for name in ("dashboard:overview", "dashboard:task-names", "dashboard:workers", "dashboard:periodic"):
        page.goto(live_server.url + reverse(name))
        expect(page.locator("#insights")).to_be_visible()
    page.get_by_label("Window").select_option("1h")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"window=1h"))
    expect(page.locator("#insights .freshness")).to_contain_text("Last hour")
