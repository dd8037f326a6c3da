"""``/healthz``: 200 with every check ok, 503 naming what is not, no log-in, no data, never cached."""
from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

from tests.support import OTHER_DB

# Every configured database is checked: the suite's second alias too.
pytestmark = pytest.mark.django_db(databases=["default", OTHER_DB])

URL = reverse("healthz")


def test_healthy_is_200_with_each_check_and_needs_no_log_in(client, celery_app_factory):
    celery_app_factory("health", current=True, broker_url="memory://")
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", f"database {OTHER_DB}": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert "sessionid" not in response.cookies and not response.has_header("Set-Cookie")


def test_a_database_that_cannot_answer_is_503(client, celery_app_factory):
    celery_app_factory("health", current=True, broker_url="memory://")
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("gone")):
        response = client.get(URL)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable (OperationalError)",
                               f"database {OTHER_DB}": "unreachable (OperationalError)", "broker": "ok"}


def test_a_broker_that_refuses_connections_is_503_within_the_timeout(client, celery_app_factory):
    # Nothing listens on port 1: the connection is refused at once.
    celery_app_factory("health", current=True, broker_url="amqp://guest:guest@127.0.0.1:1//")
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"].startswith("unreachable (")
    assert "guest" not in response.content.decode()  # no credentials, no address: a word and an exception class


def test_without_a_broker_only_the_database_is_checked(client, celery_app_factory):
    celery_app_factory("health", current=True, broker_url="")
    assert client.get(URL).json() == {"status": "ok", "database": "ok", f"database {OTHER_DB}": "ok"}


def test_only_get_and_head(client):
    assert client.post(URL).status_code == 405
    assert client.head(URL).status_code in (200, 503)
