"""The demo tasks do what the sender asks of them (run eagerly, in this process)."""
import smtplib
from datetime import timedelta

import pytest
from celery import states
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from demo import catalog, tasks


@pytest.fixture(autouse=True)
def instant_work(monkeypatch):
    """Count the attempts instead of sleeping."""
    attempts = []
    monkeypatch.setattr(tasks, "work", lambda seconds: attempts.append(seconds))
    return attempts


def test_registered_under_the_catalogue_names():
    assert tasks.send_invoice.name == catalog.SEND_INVOICE
    assert tasks.publish_gallery.name == catalog.PUBLISH_GALLERY
    assert tasks.cleanup_sessions.name == catalog.CLEANUP_SESSIONS


def test_invoice_is_sent():
    result = tasks.send_invoice.apply((1234, "ana@example.com"))
    assert result.get() == {"invoice": f"INV-{timezone.now().year}-0001234", "sent_to": "ana@example.com"}


def test_flaky_mail_server_is_retried_until_it_works(instant_work):
    result = tasks.send_invoice.apply((1, f"ben@{tasks.FLAKY_MAIL_DOMAIN}"))
    assert result.successful() and result.get()["sent_to"].startswith("ben@")
    assert len(instant_work) == 3  # two failed attempts, then the one that worked


def test_refused_recipient_fails_with_a_traceback():
    result = tasks.send_invoice.apply((1, f"eve@{tasks.BOUNCING_MAIL_DOMAIN}"))
    assert result.status == states.FAILURE
    assert isinstance(result.result, smtplib.SMTPRecipientsRefused)
    assert "in send_invoice" in result.traceback


def test_dead_webhook_gives_up_after_the_retries(instant_work):
    result = tasks.deliver_webhook.apply((f"https://{tasks.DEAD_WEBHOOK_HOST}/endpoints/1", "order.paid", "d1"))
    assert result.status == states.FAILURE
    assert isinstance(result.result, ConnectionRefusedError)
    assert len(instant_work) == tasks.MAX_RETRIES + 1


def test_flaky_webhook_is_delivered_on_the_third_attempt():
    result = tasks.deliver_webhook.apply((f"https://{tasks.FLAKY_WEBHOOK_HOST}/endpoints/1", "order.paid", "d2"))
    assert result.get()["attempts"] == 3


@pytest.mark.parametrize(
    "task, args, exception",
    [
        (tasks.charge_card, (7, 999, f"{tasks.DECLINED_CARD_TOKEN}_x"), tasks.CardDeclined),
        (tasks.export_csv, (30, 1), KeyError),
        (tasks.generate_thumbnail, (4213, "320x240"), ValueError),
    ],
)
def test_failures_raise_real_exceptions(task, args, exception):
    result = task.apply(args)
    assert result.status == states.FAILURE and isinstance(result.result, exception)
    assert result.traceback.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize(
    "task, args",
    [
        (tasks.charge_card, (7, 999, "tok_visa")),
        (tasks.export_csv, (31, 1)),
        (tasks.generate_thumbnail, (4201, "320x240")),
        (tasks.build_daily_report, ("2026-11-24",)),
        (tasks.sync_inventory, ("AMS-1",)),
        (tasks.send_welcome_email, (5,)),
        (tasks.track_event, ("signed_in", 5)),
    ],
)
def test_successes(task, args):
    assert task.apply(args).status == states.SUCCESS


def test_gallery_counts_its_thumbnails():
    assert tasks.publish_gallery.apply(([{"image": 1}, {"image": 2}], 9)).get() == {"gallery": 9, "thumbnails": 2}


@pytest.mark.django_db
def test_cleanup_sessions_deletes_only_expired_ones():
    for expiry in (-60, 3600):
        session = SessionStore()
        session.set_expiry(timezone.now() + timedelta(seconds=expiry))
        session.create()
    assert tasks.cleanup_sessions.apply().get() == {"deleted": 1}
    assert Session.objects.count() == 1
