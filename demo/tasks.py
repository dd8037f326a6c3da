"""Real Celery tasks of the demo shop, run by ``make run``'s worker.

They register under the catalogue's names (``shop.tasks.send_invoice``...),
so the dashboard shows them beside the seeded history. Nothing leaves the
machine: mail servers, payment gateways and webhook endpoints are
imitated, and the arguments decide how each call goes (documented on each
task), so the sender (``demo.mix``) can ask for a success, a failure, a
retry that recovers or one that gives up. Time spent "working" goes
through ``work()``, which tests replace to run the tasks instantly.
"""
import random
import smtplib
import time

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from . import catalog

#: Seconds between automatic retries: short, so a retry is seen to recover or give up.
RETRY_DELAY = 4
MAX_RETRIES = 3

FLAKY_MAIL_DOMAIN = "flaky-mail.example"  # the first two attempts find the server gone
BOUNCING_MAIL_DOMAIN = "bounce.example"  # the recipient is refused: fails at once
FLAKY_WEBHOOK_HOST = "hooks.flaky.example"  # refuses twice, then answers
DEAD_WEBHOOK_HOST = "hooks.down.example"  # never answers: gives up after MAX_RETRIES
DECLINED_CARD_TOKEN = "tok_chargeDeclined"  # the gateway's test token for a declined card
BROKEN_REPORT_MODULO = 10  # reports whose id is a multiple of this miss a column
BROKEN_IMAGE_SUFFIX = 13  # images whose id ends in 13 are not images


class CardDeclined(Exception):
    """The payment gateway refused the card."""


def work(seconds):
    """Stand in for the time real work takes (tests make it instant)."""
    time.sleep(seconds)


def _pause(low, high):
    work(random.uniform(low, high))


@shared_task(
    name=catalog.SEND_INVOICE,
    bind=True,
    autoretry_for=(smtplib.SMTPServerDisconnected,),
    max_retries=MAX_RETRIES,
    default_retry_delay=RETRY_DELAY,
)
def send_invoice(self, order_id, email):
    """Mail the invoice of an order.

    A ``flaky-mail.example`` address loses the connection on the first two
    attempts (retried, then sent); a ``bounce.example`` one is refused.
    """
    _pause(0.3, 1.2)
    domain = email.rpartition("@")[2]
    if domain == FLAKY_MAIL_DOMAIN and self.request.retries < 2:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    if domain == BOUNCING_MAIL_DOMAIN:
        raise smtplib.SMTPRecipientsRefused({email: (550, f"5.1.1 <{email}>: Recipient address rejected")})
    return {"invoice": f"INV-{timezone.now().year}-{order_id:07d}", "sent_to": email}


@shared_task(name=catalog.CHARGE_CARD)
def charge_card(order_id, amount_cents, card_token, currency="EUR"):
    """Charge a card.

    The sender hides ``card_token`` with ``argsrepr``; the test token ``tok_chargeDeclined`` is declined.
    """
    _pause(0.5, 2.0)
    if card_token.startswith(DECLINED_CARD_TOKEN):
        raise CardDeclined(f"Card declined for order {order_id}: insufficient_funds")
    return {
        "charge": f"ch_{random.getrandbits(96):024x}",
        "amount_cents": amount_cents,
        "currency": currency,
        "status": "succeeded",
    }


@shared_task(name=catalog.SEND_PASSWORD_RESET)
def send_password_reset(user_id, token):
    """Mail a password-reset link; the sender hides ``token`` with ``kwargsrepr``."""
    _pause(0.2, 0.6)


@shared_task(name=catalog.SEND_WELCOME_EMAIL)
def send_welcome_email(user_id):
    """Mail a new customer; sent in groups after a sign-up import."""
    _pause(0.3, 1.5)
    return {"message_id": f"<{random.getrandbits(64):016x}@mail.shop.example>"}


@shared_task(
    name=catalog.DELIVER_WEBHOOK,
    bind=True,
    autoretry_for=(ConnectionError,),
    max_retries=MAX_RETRIES,
    default_retry_delay=RETRY_DELAY,
)
def deliver_webhook(self, url, event, delivery):
    """POST an event to a partner's endpoint, retrying when it cannot be reached.

    ``hooks.flaky.example`` refuses the first two attempts; ``hooks.down.example``
    refuses every one, so the task gives up after ``MAX_RETRIES`` retries.
    """
    _pause(0.2, 1.0)
    host = url.split("/")[2]
    if host == DEAD_WEBHOOK_HOST or (host == FLAKY_WEBHOOK_HOST and self.request.retries < 2):
        raise ConnectionRefusedError(111, f"Connection refused: {host}:443")
    return {"status_code": 200, "elapsed_ms": random.randint(40, 900), "attempts": self.request.retries + 1}


@shared_task(name=catalog.BUILD_DAILY_REPORT)
def build_daily_report(day, format="pdf"):
    """Build yesterday's report: slow, so it is seen STARTED for a while."""
    _pause(25, 60)
    return {"file": f"reports/daily-{day}.{format}", "rows": random.randint(20_000, 90_000)}


@shared_task(name=catalog.EXPORT_CSV)
def export_csv(report_id, requested_by, delimiter=","):
    """Export a report as CSV; old reports (id a multiple of 10) lack the region column."""
    _pause(3, 10)
    rows = [{"region": "EU", "amount": 1200}, {"region": "US", "amount": 800}]
    if report_id % BROKEN_REPORT_MODULO == 0:
        rows.append({"country": "NO", "amount": 300})
    return {"file": f"exports/report-{report_id}.csv", "totals": summarise(rows)}


def summarise(rows):
    totals = {}
    for row in rows:
        totals[row["region"]] = totals.get(row["region"], 0) + row["amount"]
    return totals


@shared_task(name=catalog.GENERATE_THUMBNAIL)
def generate_thumbnail(image_id, size):
    """Render one thumbnail: a chord's header part. Ids ending in 13 are not images."""
    _pause(1.0, 4.0)
    if image_id % 100 == BROKEN_IMAGE_SUFFIX:
        raise ValueError(f"cannot identify image file '/srv/media/uploads/{image_id}.heic'")
    return {"image": image_id, "size": size, "path": f"thumbs/{image_id}-{size}.webp"}


@shared_task(name=catalog.PUBLISH_GALLERY)
def publish_gallery(thumbnails, gallery_id):
    """A chord's body: publish the gallery once all its thumbnails exist."""
    _pause(0.2, 0.5)
    return {"gallery": gallery_id, "thumbnails": len(thumbnails)}


@shared_task(name=catalog.TRACK_EVENT)
def track_event(event, user_id, properties=None):
    """Record an analytics event: quick and frequent."""
    _pause(0.02, 0.2)


@shared_task(name=catalog.SYNC_INVENTORY)
def sync_inventory(warehouse):
    """Periodic (beat): reconcile a warehouse's stock."""
    _pause(2, 6)
    return {"warehouse": warehouse, "updated": random.randint(0, 900), "unchanged": random.randint(1000, 20000)}


@shared_task(name=catalog.CLEANUP_SESSIONS)
def cleanup_sessions():
    """Periodic (beat): delete this site's expired login sessions, for real."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"deleted": deleted}
