"""The failures pages in Chromium: causes listed, a cause's page and chart, resolving it through the real forms."""
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from dashboard.models import AuditEntry, FailureGroup

from .test_insights import assert_hover_figures_are_the_tables

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


def test_resolve_a_cause_from_its_page_and_see_it_listed_resolved(seeded, login, live_server, operator):
    page = login(operator, reverse("dashboard:failures") + "?window=7d&refresh=0")
    rows = page.locator("#insights tbody tr")
    expect(rows).not_to_have_count(0)
    first = rows.first.locator("td:first-child a")
    first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/failures/[0-9a-f]{16}/"))
    digest = page.url.rstrip("/").split("/")[-1].split("?")[0]
    expect(page.locator("#insights #traceback .exception")).to_be_visible()
    assert_hover_figures_are_the_tables(page)

    page.get_by_role("link", name="Resolve…").click()
    expect(page.get_by_role("heading", name="Resolve this failure group?")).to_be_visible()
    page.get_by_role("button", name="Resolve").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("dashboard:failure", args=[digest]))))
    expect(page.locator(".messages")).to_contain_text("resolved")
    expect(page.locator("#insights .badge", has_text="resolved")).to_be_visible()
    assert FailureGroup.objects.get(digest=digest).state == FailureGroup.State.RESOLVED
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RESOLVE).count() == 1

    page.goto(live_server.url + reverse("dashboard:failures") + "?window=7d&state=resolved&refresh=0")
    expect(page.locator("#insights tbody tr")).to_have_count(1)
    page.get_by_role("link", name=re.compile(".")).filter(has=page.locator("code")).first.click()
    page.get_by_role("link", name="Reopen…").click()
    page.get_by_role("button", name="Reopen").click()
    expect(page.locator("#insights .badge", has_text="resolved")).to_have_count(0)
    assert FailureGroup.objects.get(digest=digest).state == FailureGroup.State.OPEN
