"""Dates as people read them: ages in the unit that fits, full dates in the browser's chosen time zone."""
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.formatting import datetime_cell, relative_time
from dashboard.timezones import COOKIE
from tests.factories import task_result

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("ago", "words"), [
    (timedelta(seconds=3), "just now"),
    (timedelta(seconds=42), "42 s ago"),
    (timedelta(minutes=3, seconds=59), "3 min ago"),
    (timedelta(hours=5, minutes=10), "5 h ago"),
    (timedelta(hours=47), "47 h ago"),
    (timedelta(days=12, hours=3), "12 d ago"),
    (-timedelta(minutes=3), "in 3 min"),
])
def test_relative_time_uses_the_unit_that_fits(ago, words):
    assert relative_time(NOW - ago, now=NOW) == words


def test_a_date_cell_reads_as_an_age_with_the_full_date_in_the_current_zone_on_hover():
    moment = timezone.now() - timedelta(minutes=3)
    with timezone.override("America/New_York"):
        html = datetime_cell(moment)
        local = timezone.localtime(moment)
    assert ">3 min ago</time>" in html
    assert f'title="{local:%Y-%m-%d %H:%M:%S} E' in html  # EST or EDT
    assert f'datetime="{moment.isoformat()}"' in html and "data-relative" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("cookie", "zone"), [
    ("Asia/Tokyo", "JST"), ("", "UTC"), ("Not/AZone", "UTC"), ("../../etc/passwd", "UTC"), ("x" * 300, "UTC"),
])
def test_the_chosen_zone_writes_the_pages_dates_and_a_bad_cookie_falls_back_to_the_server(admin_client, cookie, zone):
    task = task_result(date_done=timezone.now() - timedelta(hours=2))
    admin_client.cookies[COOKIE] = cookie
    html = admin_client.get(reverse("dashboard:task", args=[task.task_id])).content.decode()
    assert f" {zone}\" data-relative>2 h ago</time>" in html
    selected = f'<option value="{cookie}" selected>' if zone == "JST" else 'selected>server · UTC</option>'
    assert selected in html


@pytest.mark.django_db
def test_the_filter_form_reads_dates_in_the_chosen_zone(admin_client):
    done = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo
    task = task_result(date_done=done)
    admin_client.cookies[COOKIE] = "Asia/Tokyo"
    tasks = reverse("dashboard:tasks")
    inside = admin_client.get(tasks, {"date_done_after": "2026-12-03T10:00", "date_done_before": "2026-12-03T11:00"})
    outside = admin_client.get(tasks, {"date_done_after": "2026-12-03T01:00", "date_done_before": "2026-12-03T02:00"})
    assert task.task_id[:8] in inside.content.decode()
    assert task.task_id[:8] not in outside.content.decode()


@pytest.mark.django_db
def test_the_live_pages_etag_differs_by_zone(admin_client):
    overview = reverse("dashboard:overview")
    server = admin_client.get(overview)["ETag"]
    admin_client.cookies[COOKIE] = "Asia/Tokyo"
    tokyo = admin_client.get(overview, headers={"If-None-Match": server})
    assert tokyo.status_code == 200 and tokyo["ETag"] != server


@pytest.mark.django_db
def test_without_the_middleware_no_switch_is_offered(admin_client, settings):
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if not name.endswith("TimeZoneMiddleware")]
    assert "Times in" not in admin_client.get(reverse("dashboard:tasks")).content.decode()
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "dashboard.timezones.TimeZoneMiddleware"]
    assert "Times in" in admin_client.get(reverse("dashboard:tasks")).content.decode()
