"""Saved views in a real browser: filter the task list, save and share the view, open it as someone else."""
import re

import pytest
from celery import states
from django.contrib.auth.models import Permission
from django.urls import reverse
from playwright.sync_api import expect

from dashboard.models import SavedView
from results.models import TaskResult

from .conftest import results_reader

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

ROWS = "#task-results tbody tr"
NAME = "payments failing on web-3"


def shown_ids(page):
    return page.locator(f"{ROWS} a.id").evaluate_all("links => links.map(a => a.title)")


def views_menu(page):
    menu = page.locator("#saved-views")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    return menu


@pytest.fixture
def sharer(viewer):
    """The browser tests' viewer, allowed to share views with the team."""
    viewer.user_permissions.add(Permission.objects.get(codename="share_savedview", content_type__app_label="dashboard"))
    return viewer


@pytest.fixture
def teammate(transactional_db):
    return results_reader("teammate")


@pytest.fixture
def worker(seeded):
    """The worker of the first failure (by name), to filter on."""
    return TaskResult.objects.filter(status=states.FAILURE).order_by("worker").values_list("worker", flat=True)[0]


def test_save_share_and_open_a_view_as_a_teammate(login, live_server, sharer, teammate, worker):
    tasks = live_server.url + reverse("dashboard:tasks")
    page = login(sharer, reverse("dashboard:tasks"))

    # Filter and sort (htmx swaps: the save form follows the filters shown).
    page.get_by_role("group", name="Status").get_by_role("checkbox", name=states.FAILURE, exact=True).check()
    expect(page).to_have_url(tasks + "?status=FAILURE")
    page.get_by_label("Worker").fill(worker)
    page.get_by_label("Worker").press("Enter")
    expect(page).to_have_url(re.compile(r"worker="))
    page.locator("#task-results thead th", has_text="Task name").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=task_name$"))
    filtered = shown_ids(page)
    assert filtered and len(filtered) == min(
        TaskResult.objects.filter(status=states.FAILURE, worker=worker).count(), 25)

    menu = views_menu(page)
    expect(menu.get_by_text("No saved views of this list yet.")).to_be_visible()
    expect(menu.get_by_label("Name")).to_have_attribute("required", "")  # the browser asks for a name first
    menu.get_by_label("Name").fill(NAME)
    menu.get_by_label("Share with the team").check()
    menu.get_by_role("button", name="Save view").click()
    expect(page.get_by_text(f"Saved the view “{NAME}”, shared with the team.")).to_be_visible()
    view = SavedView.objects.get()
    assert (view.owner_id, view.shared) == (sharer.pk, True)
    assert view.query == f"status=FAILURE&worker={worker.replace('@', '%40')}&sort=task_name"
    expect(page).to_have_url(f"{tasks}?{view.query}")
    assert shown_ids(page) == filtered

    # The same name again is refused in place (htmx), offering to replace it.
    page.evaluate("window.__sameDocument = true")
    menu = views_menu(page)
    expect(menu.get_by_role("link", name=NAME)).to_be_visible()
    menu.get_by_label("Name").fill(NAME.upper())
    menu.get_by_role("button", name="Save view").click()
    expect(menu.get_by_text(f"You already have a view named “{NAME}” on this list")).to_be_visible()
    expect(menu.get_by_label("Replace my view of this name")).not_to_be_checked()
    assert page.evaluate("window.__sameDocument === true")
    assert SavedView.objects.count() == 1

    # Someone else sees it, on the overview and in the menu, and gets the same rows.
    page.get_by_role("button", name="Log out").click()
    page = login(teammate)
    card = page.locator("section.saved-views-card")
    expect(card.get_by_role("row", name=re.compile(NAME))).to_contain_text(sharer.username)
    card.get_by_role("link", name=NAME).click()
    expect(page).to_have_url(f"{tasks}?{view.query}")
    expect(page.locator(ROWS)).to_have_count(len(filtered))
    assert shown_ids(page) == filtered
    expect(page.get_by_role("combobox", name="Worker")).to_have_value(worker)

    page.goto(tasks)
    menu = views_menu(page)
    entry = menu.get_by_role("listitem").filter(has_text=NAME)
    expect(entry).to_contain_text(f"by {sharer.username}")
    expect(entry.get_by_role("button")).to_have_count(0)  # not hers to delete or unshare
    expect(menu.get_by_label("Share with the team")).to_have_count(0)  # she may not share
    entry.get_by_role("link", name=NAME).click()
    expect(page).to_have_url(f"{tasks}?{view.query}")
    assert shown_ids(page) == filtered


@pytest.mark.parametrize("javascript", [False])
def test_without_javascript_the_menu_saves_opens_and_deletes(login, live_server, viewer, seeded):
    tasks = live_server.url + reverse("dashboard:tasks")
    page = login(viewer, reverse("dashboard:tasks") + "?status=SUCCESS&page=2")
    menu = views_menu(page)
    menu.get_by_label("Name").fill("successes")
    menu.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(tasks + "?status=SUCCESS")
    expect(page.get_by_text("Saved the view “successes” (only you see it).")).to_be_visible()

    # A name taken: the form comes back on a page of its own, then replaces the view when asked.
    page.goto(tasks + "?status=FAILURE")
    menu = views_menu(page)
    menu.get_by_label("Name").fill("Successes")
    menu.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("heading", name="Save a view of the tasks list")).to_be_visible()
    expect(page.get_by_text("You already have a view named “successes” on this list")).to_be_visible()
    page.get_by_label("Replace my view of this name").check()
    page.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(tasks + "?status=FAILURE")
    assert SavedView.objects.get().query == "status=FAILURE"
    page.goto(tasks + "?status=SUCCESS")

    views_menu(page).get_by_role("link", name="Successes").click()
    expect(page).to_have_url(tasks + "?status=FAILURE")
    views_menu(page).get_by_role("button", name="Delete the view Successes").click()
    expect(page.get_by_text("Deleted the view “Successes”.")).to_be_visible()
    expect(page).to_have_url(tasks + "?status=FAILURE")
    assert not SavedView.objects.exists()
