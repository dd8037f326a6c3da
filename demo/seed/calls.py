"""What each task of the catalogue is called with and returns, drawn at random.

Each maker takes ``(rng, when)`` and returns ``(args, kwargs, argsrepr or
None, kwargsrepr or None, result)``; ``argsrepr``/``kwargsrepr`` are given
where the sender hides a secret, as Celery's ``argsrepr`` option does.
``CALLS`` maps every task name of the catalogue to its maker.
"""
import uuid
from datetime import timedelta

from .. import catalog

EVENTS = ("checkout_completed", "product_viewed", "cart_updated", "signed_in", "search_performed")
WAREHOUSES = ("AMS-1", "FRA-2", "LYS-1", "MAD-3")
WEBHOOK_EVENTS = ("order.paid", "order.shipped", "order.refunded", "customer.created")
THUMBNAIL_SIZES = ("160x160", "320x240", "800x600", "1600x1200")
FIRST_NAMES = ("ana", "ben", "chloe", "dmitri", "emma", "farid", "grace", "hugo", "ines", "jonas", "keiko", "lena")
MAIL_DOMAINS = ("example.com", "mail.example.org", "shop-customer.example")


def new_id(rng):
    """A version 4 UUID drawn from ``rng``, like the ids Celery gives tasks."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _order_id(rng):
    return rng.randint(10_000, 999_999)


def _email(rng):
    return f"{rng.choice(FIRST_NAMES)}.{rng.randint(1, 999)}@{rng.choice(MAIL_DOMAINS)}"


def _hex(rng, digits):
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _send_invoice(rng, when):
    order_id, email = _order_id(rng), _email(rng)
    return (order_id,), {"email": email}, None, None, {"invoice": f"INV-{when.year}-{order_id:07d}", "sent_to": email}


def _charge_card(rng, when):
    order_id, amount = _order_id(rng), rng.randint(499, 45_000)
    token = f"tok_{_hex(rng, 24)}"
    shown = repr((order_id, amount, "****"))
    charge = {"charge": f"ch_{_hex(rng, 24)}", "amount_cents": amount, "currency": "EUR", "status": "succeeded"}
    return (order_id, amount, token), {"currency": "EUR"}, shown, None, charge


def _sync_inventory(rng, when):
    warehouse = rng.choice(WAREHOUSES)
    result = {"warehouse": warehouse, "updated": rng.randint(0, 900), "unchanged": rng.randint(1000, 20000)}
    return (warehouse,), {}, None, None, result


def _build_daily_report(rng, when):
    day = (when - timedelta(days=1)).date().isoformat()
    result = {
        "file": f"reports/daily-{day}.pdf",
        "rows": rng.randint(20_000, 90_000),
        "bytes": rng.randint(200_000, 4_000_000),
    }
    return (day,), {"format": "pdf"}, None, None, result


def _export_csv(rng, when):
    report_id = rng.randint(100, 9_999)
    result = {"file": f"exports/report-{report_id}.csv", "rows": rng.randint(10, 250_000)}
    return (report_id,), {"requested_by": rng.randint(1, 5_000), "delimiter": ","}, None, None, result


def _send_welcome_email(rng, when):
    return (rng.randint(1, 250_000),), {}, None, None, {"message_id": f"<{_hex(rng, 16)}@mail.shop.example>"}


def _send_password_reset(rng, when):
    kwargs = {"token": _hex(rng, 32)}
    return (rng.randint(1, 250_000),), kwargs, None, repr({"token": "********"}), None


def _generate_thumbnail(rng, when):
    image_id, size = rng.randint(1, 2_000_000), rng.choice(THUMBNAIL_SIZES)
    result = {
        "image": image_id,
        "size": size,
        "path": f"thumbs/{image_id}-{size}.webp",
        "bytes": rng.randint(4_000, 400_000),
    }
    return (image_id, size), {}, None, None, result


def _reindex_products(rng, when):
    since = (when - timedelta(hours=1)).replace(microsecond=0).isoformat()
    return (), {"since": since}, None, None, {"indexed": rng.randint(0, 5_000), "deleted": rng.randint(0, 40)}


def _renew_subscriptions(rng, when):
    return (), {}, None, None, {"renewed": rng.randint(0, 300), "failed": rng.randint(0, 5)}


def _track_event(rng, when):
    properties = {"cart_value": round(rng.uniform(5, 400), 2), "items": rng.randint(1, 9)}
    return (rng.choice(EVENTS), rng.randint(1, 250_000)), {"properties": properties}, None, None, None


def _deliver_webhook(rng, when):
    endpoint = rng.randint(1, 400)
    result = {"status_code": 200, "elapsed_ms": rng.randint(40, 2_500)}
    return (endpoint, rng.choice(WEBHOOK_EVENTS)), {"delivery": new_id(rng)}, None, None, result


def _cleanup_sessions(rng, when):
    return (), {}, None, None, {"deleted": rng.randint(0, 12_000)}


CALLS = {
    catalog.SEND_INVOICE: _send_invoice,
    catalog.CHARGE_CARD: _charge_card,
    catalog.SYNC_INVENTORY: _sync_inventory,
    catalog.BUILD_DAILY_REPORT: _build_daily_report,
    catalog.EXPORT_CSV: _export_csv,
    catalog.SEND_WELCOME_EMAIL: _send_welcome_email,
    catalog.SEND_PASSWORD_RESET: _send_password_reset,
    catalog.GENERATE_THUMBNAIL: _generate_thumbnail,
    catalog.REINDEX_PRODUCTS: _reindex_products,
    catalog.RENEW_SUBSCRIPTIONS: _renew_subscriptions,
    catalog.TRACK_EVENT: _track_event,
    catalog.DELIVER_WEBHOOK: _deliver_webhook,
    catalog.CLEANUP_SESSIONS: _cleanup_sessions,
}
