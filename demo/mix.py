"""What the demo sends to its worker: a burst showing every kind of outcome, then a trickle.

Each scenario sends one thing (a task, a group, a chord) through the
project's Celery app and says what it sent. ``send_burst`` runs every
scenario once (some a few times), so a fresh dashboard soon shows
successes, failures with tracebacks, retries that recover and ones that
give up, hidden secrets, slow STARTED reports, an expired (REVOKED) task,
a group and chords counting down. ``trickle`` then keeps picking
scenarios at random, weighted to look like everyday traffic.
"""
import logging
import secrets
import time
from dataclasses import dataclass

from celery import chord, group

from . import tasks

logger = logging.getLogger(__name__)

EVENTS = ("checkout_completed", "product_viewed", "cart_updated", "signed_in")
NAMES = ("ana", "ben", "chloe", "dmitri", "emma", "farid", "grace", "hugo")
SIZES = ("160x160", "320x240", "800x600")


@dataclass(frozen=True)
class Sent:
    """What one scenario sent: how many tasks, described for a person."""

    tasks: int
    description: str


def _email(rng, domain="example.com"):
    return f"{rng.choice(NAMES)}.{rng.randint(1, 999)}@{domain}"


def _order(rng):
    return rng.randint(10_000, 999_999)


def invoice(rng, domain="example.com"):
    email = _email(rng, domain)
    tasks.send_invoice.delay(_order(rng), email)
    return Sent(1, f"invoice to {email}")


def invoice_retried(rng):
    sent = invoice(rng, tasks.FLAKY_MAIL_DOMAIN)
    return Sent(1, f"{sent.description} (mail server drops twice: retried, then sent)")


def invoice_refused(rng):
    sent = invoice(rng, tasks.BOUNCING_MAIL_DOMAIN)
    return Sent(1, f"{sent.description} (refused: fails)")


def charge(rng, token=None):
    """A card payment; the token never reaches the results table (``argsrepr``)."""
    order, amount = _order(rng), rng.randint(499, 45_000)
    token = token or f"tok_{secrets.token_hex(12)}"
    tasks.charge_card.apply_async((order, amount, token), argsrepr=repr((order, amount, "****")))
    return Sent(1, f"card charge of {amount / 100:.2f} EUR for order {order}, token hidden")


def charge_declined(rng):
    sent = charge(rng, token=f"{tasks.DECLINED_CARD_TOKEN}_{secrets.token_hex(4)}")
    return Sent(1, f"{sent.description} (declined: fails)")


def password_reset(rng):
    tasks.send_password_reset.apply_async(
        (rng.randint(1, 250_000),), {"token": secrets.token_urlsafe(24)}, kwargsrepr=repr({"token": "********"})
    )
    return Sent(1, "password reset mail, token hidden")


def webhook(rng, host="hooks.partner.example"):
    url = f"https://{host}/endpoints/{rng.randint(1, 400)}"
    tasks.deliver_webhook.delay(url, rng.choice(("order.paid", "order.shipped")), secrets.token_hex(8))
    return Sent(1, f"webhook to {url}")


def webhook_retried(rng):
    sent = webhook(rng, tasks.FLAKY_WEBHOOK_HOST)
    return Sent(1, f"{sent.description} (refused twice: retried, then delivered)")


def webhook_given_up(rng):
    sent = webhook(rng, tasks.DEAD_WEBHOOK_HOST)
    return Sent(1, f"{sent.description} (never answers: gives up after {tasks.MAX_RETRIES} retries)")


def daily_report(rng):
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86_400))
    tasks.build_daily_report.delay(day)
    return Sent(1, f"daily report for {day} (slow: STARTED for up to a minute)")


def export(rng, broken=False):
    report = rng.randint(10, 999) * tasks.BROKEN_REPORT_MODULO + (0 if broken else rng.randint(1, 9))
    tasks.export_csv.delay(report, rng.randint(1, 5_000))
    return Sent(1, f"CSV export of report {report}" + (" (missing column: KeyError)" if broken else ""))


def export_broken(rng):
    return export(rng, broken=True)


def welcome_group(rng):
    """A group of welcome mails, saved so that the dashboard lists the group."""
    size = rng.randint(8, 15)
    result = group(tasks.send_welcome_email.s(rng.randint(1, 250_000)) for _ in range(size)).apply_async()
    result.save()
    return Sent(size, f"group of {size} welcome mails")


def gallery(rng, size=None, broken=False):
    """A chord of thumbnails whose counter counts down as they finish, then publishes the gallery."""
    size = size or rng.randint(10, 50)
    images = [rng.randint(1_000, 99_999) * 100 + rng.choice((1, 7, 42, 88)) for _ in range(size)]
    if broken:
        images[rng.randrange(size)] = rng.randint(1_000, 99_999) * 100 + tasks.BROKEN_IMAGE_SUFFIX
    gallery_id = rng.randint(1, 9_999)
    header = [tasks.generate_thumbnail.s(image, rng.choice(SIZES)) for image in images]
    result = chord(header)(tasks.publish_gallery.s(gallery_id))
    result.parent.save()
    outcome = "one image is broken: the chord fails" if broken else "then publishes the gallery"
    return Sent(size + 1, f"chord of {size} thumbnails for gallery {gallery_id} ({outcome})")


def broken_gallery(rng):
    return gallery(rng, broken=True)


def events(rng):
    count = rng.randint(2, 6)
    for _ in range(count):
        tasks.track_event.delay(rng.choice(EVENTS), rng.randint(1, 250_000), {"items": rng.randint(1, 9)})
    return Sent(count, f"{count} analytics events")


def expired(rng):
    """An event that expires before a worker can take it: the worker marks it REVOKED."""
    tasks.track_event.apply_async((rng.choice(EVENTS), rng.randint(1, 250_000)), expires=0.1)
    return Sent(1, "analytics event that expires in the queue (REVOKED)")


#: (scenario, times in the burst, weight in the trickle)
SCENARIOS = (
    (invoice, 4, 4),
    (invoice_retried, 1, 0.5),
    (invoice_refused, 1, 0.3),
    (charge, 3, 3),
    (charge_declined, 1, 0.5),
    (password_reset, 2, 1),
    (webhook, 2, 3),
    (webhook_retried, 1, 0.5),
    (webhook_given_up, 1, 0.3),
    (daily_report, 2, 0.15),
    (export, 2, 0.5),
    (export_broken, 1, 0.3),
    (welcome_group, 1, 0.4),
    (gallery, 2, 0.3),
    (broken_gallery, 1, 0.1),
    (events, 3, 10),
    (expired, 1, 0.2),
)


def send_burst(rng, report=None):
    """Send every scenario its burst number of times; return how many tasks went."""
    total = 0
    for scenario, times, _ in SCENARIOS:
        for _ in range(times):
            sent = scenario(rng)
            total += sent.tasks
            if report:
                report(sent)
    return total


def trickle(rng, interval, report=None, should_stop=lambda: False):
    """Send one weighted-random scenario every ``interval`` seconds until ``should_stop()``.

    A scenario that fails to send is logged and the trickle goes on: the
    demo should not stop over one lost message.
    """
    scenarios = [scenario for scenario, _, _ in SCENARIOS]
    weights = [weight for _, _, weight in SCENARIOS]
    while not should_stop():
        scenario = rng.choices(scenarios, weights=weights)[0]
        try:
            sent = scenario(rng)
        except Exception:  # a broker or database hiccup: the next round tries again
            logger.exception("Could not send the %s scenario", scenario.__name__)
        else:
            if report:
                report(sent)
        resume = time.monotonic() + interval * rng.uniform(0.5, 1.5)
        while time.monotonic() < resume and not should_stop():
            time.sleep(min(0.2, max(resume - time.monotonic(), 0)))
