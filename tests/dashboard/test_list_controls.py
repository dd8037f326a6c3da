"""What the list pages' HTML carries for the browser: pager links, the sort kept
by the filter form, and history entries reloaded rather than restored from a
stale snapshot (the browser tests in tests/browser drive the same controls)."""
import re

import pytest
from django.urls import reverse

URL = reverse("dashboard:tasks")
HTMX = {"HX-Request": "true", "HX-Target": "task-results"}


def sort_input(html):
    return re.search(r'<input type="hidden" name="sort" id="task-filter-sort"[^>]*>', html).group(0)


def test_the_pager_links_are_in_the_page(client_viewer, make_tasks, settings):
    settings.DASHBOARD = {"PER_PAGE": 2, "FACET_CACHE_SECONDS": 0}
    make_tasks(5)
    first = client_viewer.get(URL).content.decode()
    assert 'rel="next"' in first and "Older ›" in first and 'rel="prev"' not in first
    second = client_viewer.get(URL + "?sort=task_id&page=2").content.decode()
    assert "Next ›" in second and "‹ Previous" in second and "Page 2" in second


def test_a_bad_cursor_is_reported_on_the_page(client_viewer, make_tasks):
    make_tasks(3)
    response = client_viewer.get(URL + "?cursor=garbage")
    assert response.status_code == 400
    assert "Bad cursor" in response.content.decode()


def test_the_filter_form_keeps_the_sort_a_sort_link_chose(client_viewer, db):
    page = client_viewer.get(URL).content.decode()
    assert "disabled" in sort_input(page)  # no sort yet: nothing sent
    partial = client_viewer.get(URL + "?status=SUCCESS&sort=-task_name", headers=HTMX).content.decode()
    swapped = sort_input(partial)
    assert 'value="-task_name"' in swapped and 'hx-swap-oob="true"' in swapped and "disabled" not in swapped
    full = client_viewer.get(URL + "?sort=worker").content.decode()
    assert 'value="worker"' in sort_input(full) and "hx-swap-oob" not in sort_input(full)


@pytest.mark.parametrize("url", [URL, reverse("dashboard:groups")])
def test_list_pages_are_reloaded_on_back_not_restored_from_a_snapshot(client_viewer, db, url):
    assert 'hx-history="false"' in client_viewer.get(url).content.decode()
