"""The task list's export in Chromium: the links download exactly the rows the list pages through, in its order."""
import csv
import io
import json

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


def listed_ids(page):
    """The full task ids of every row of the list, clicking "Older"/"Next" until the last page."""
    ids, links = [], page.locator("#task-results tbody tr td:first-child a.id")
    while True:
        expect(links.first).to_be_visible()
        shown = links.evaluate_all("links => links.map(link => link.title)")
        ids += shown
        following = page.locator("#task-results nav.pager a[rel=next]")
        if not following.count():
            return ids
        following.click()
        expect(links.first).not_to_have_attribute("title", shown[0])  # the next page is in


def download(page, name):
    with page.expect_download() as info:
        page.locator("#task-results .export").get_by_role("link", name=name).click()
    return info.value.path().read_text()


def test_the_exports_hold_the_lists_rows_in_its_order(seeded, logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("dashboard:tasks"))
    statuses = page.get_by_role("group", name="Status")
    for status in (states.FAILURE, states.RETRY, states.STARTED):
        statuses.get_by_role("checkbox", name=status, exact=True).check()
    filtered = reverse("dashboard:tasks") + "?status=FAILURE&status=RETRY&status=STARTED"
    expect(page).to_have_url(live_server.url + filtered)
    expect(page.locator("#task-results .chip")).to_have_count(3)

    exported_csv = [row["task_id"] for row in csv.DictReader(io.StringIO(download(page, "CSV")))]
    exported_jsonl = [json.loads(line)["task_id"] for line in download(page, "JSON lines").splitlines()]
    listed = listed_ids(page)
    assert len(listed) > 25  # more than one page
    assert exported_csv == listed
    assert exported_jsonl == listed
