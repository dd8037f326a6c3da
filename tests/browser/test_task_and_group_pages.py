"""From the lists to one failed task (its traceback) and to one group, in a real browser."""
import json
import re

import pytest
from celery import states
from django.urls import reverse
from playwright.sync_api import expect

from results.models import GroupResult, TaskResult

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


def test_open_a_failed_task_and_expand_its_full_traceback(logged_in, live_server, seeded):
    page = logged_in
    failed = TaskResult.objects.filter(status=states.FAILURE).order_by("-date_done", "-id").first()
    exception_line = failed.traceback.strip().splitlines()[-1]

    page.goto(live_server.url + reverse("dashboard:overview"))
    expect(page.locator("#insights .headline").first).to_contain_text("Tasks finished")
    page.get_by_role("link", name="All failures").click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:tasks") + "?status=FAILURE")
    page.locator(f'#task-results a.id[title="{failed.task_id}"]').click()

    expect(page).to_have_url(live_server.url + reverse("dashboard:task", args=[failed.task_id]))
    expect(page.locator("#task-id")).to_have_text(failed.task_id)
    traceback = page.locator("#traceback")
    expect(traceback.locator(".exception")).to_contain_text(exception_line.split(":")[0])
    expect(traceback.locator("ol.frames li.project")).not_to_have_count(0)

    full_text = page.locator("#traceback-text")
    expect(full_text).to_be_hidden()
    traceback.get_by_text("Full traceback").click()
    expect(full_text).to_be_visible()
    expect(full_text).to_contain_text("Traceback (most recent call last):")
    expect(full_text).to_contain_text(exception_line)
    assert page.dialogs == []


def test_open_a_group_from_the_group_list(logged_in, live_server, seeded):
    page = logged_in
    group = GroupResult.objects.order_by("-date_done", "-id").first()
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Groups").click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:groups"))
    page.locator(f'#group-results a.id[title="{group.group_id}"]').click()

    expect(page).to_have_url(live_server.url + reverse("dashboard:group", args=[group.group_id]))
    members = page.locator("#group-members tbody tr")
    member_ids = [member[0][0] for member in json.loads(group.result)[1]]
    expect(members).to_have_count(len(member_ids))
    statuses = dict(TaskResult.objects.filter(task_id__in=member_ids).values_list("task_id", "status"))
    breakdown = page.locator("#group-members .breakdown")
    for status in set(statuses.values()):
        expect(breakdown).to_contain_text(re.compile(rf"{status}\s+{list(statuses.values()).count(status)}"))

    # A member leads to its own page, which links back to the group.
    members.first.locator("a.id").click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:task", args=[member_ids[0]]))
    expect(page.get_by_role("link", name=group.group_id)).to_be_visible()
