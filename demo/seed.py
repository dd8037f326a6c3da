"""Bulk-generate a realistic history of task results, fast and in bounded memory.

``seed_tasks(count)`` writes ``count`` ``TaskResult`` rows (and, along the
way, a ``GroupResult`` for every batch of tasks sent as a group) that look
like what ``results.backends:DatabaseBackend`` stores for a busy shop's
workers: JSON results and exceptions, ``argsrepr``-style arguments,
tracebacks, several workers, a realistic mix of states and dates spread
over the last days with a daily rhythm. Rows are generated lazily and
written with ``bulk_create`` one batch per transaction, so a million rows
take the memory of one batch.

Everything random comes from the ``rng`` given, so a seeded
``random.Random`` reproduces the same rows (task ids included: seeding the
same ``rng`` twice into one database collides on ``task_id``).
"""
import json
import random
import uuid
from bisect import bisect_right
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache
from itertools import accumulate

from celery import states
from django.db import connections, router
from django.utils import timezone

from results.models import GroupResult, TaskResult

from . import catalog

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
EMPTY_META = json.dumps({"children": []})
DEFAULT_BATCH_SIZE = 2000
DEFAULT_DAYS = 7

GROUP_SHARE = 1 / 400  # chance that a row starts a group of tasks
GROUP_SIZES = (5, 30)
RECENT_SECONDS = 15 * 60  # tasks this young are often still in flight
RETRY_COUNTDOWNS = (10, 30, 90)

SITE_PACKAGES = "/srv/shop/.venv/lib/python3.11/site-packages"
TRACE_FRAMES = (
    (f"{SITE_PACKAGES}/celery/app/trace.py", 453, "trace_task", "R = retval = fun(*args, **kwargs)"),
    (f"{SITE_PACKAGES}/celery/app/trace.py", 736, "__protected_call__", "return self.run(*args, **kwargs)"),
)
AUTORETRY_FRAME = (f"{SITE_PACKAGES}/celery/app/autoretry.py", 38, "run", "return task._orig_run(*args, **kwargs)")
RETRY_FRAMES = (
    (f"{SITE_PACKAGES}/celery/app/autoretry.py", 60, "run", "ret = task.retry(exc=exc, **retry_kwargs)"),
    (f"{SITE_PACKAGES}/celery/app/task.py", 743, "retry", "raise ret"),
)

# Share of each hour of the day (UTC) in the traffic, and of weekend days.
HOURLY_TRAFFIC = (
    0.30, 0.25, 0.20, 0.20, 0.25, 0.35, 0.55, 0.80, 1.00, 1.10, 1.15, 1.10,
    1.00, 1.05, 1.10, 1.10, 1.00, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.35,
)
WEEKEND_TRAFFIC = 0.6

EVENTS = ("checkout_completed", "product_viewed", "cart_updated", "signed_in", "search_performed")
WAREHOUSES = ("AMS-1", "FRA-2", "LYS-1", "MAD-3")
WEBHOOK_EVENTS = ("order.paid", "order.shipped", "order.refunded", "customer.created")
THUMBNAIL_SIZES = ("160x160", "320x240", "800x600", "1600x1200")
FIRST_NAMES = ("ana", "ben", "chloe", "dmitri", "emma", "farid", "grace", "hugo", "ines", "jonas", "keiko", "lena")
MAIL_DOMAINS = ("example.com", "mail.example.org", "shop-customer.example")


def seed_tasks(
    count,
    *,
    batch_size=DEFAULT_BATCH_SIZE,
    now=None,
    rng=None,
    days=DEFAULT_DAYS,
    using=None,
    progress=None,
    analyze=True,
):
    """Write ``count`` task results (and their groups); return how many tasks were written.

    ``now`` (default: the current time) is when the history ends, ``days``
    how far back it starts. ``progress(written, count)`` is called after
    every batch. Each batch is its own transaction, so an interrupted run
    keeps what it wrote. With ``analyze``, the tables' planner statistics
    are refreshed at the end, as a bulk load leaves them stale.
    """
    now = now or timezone.now()
    rng = rng or random.Random()
    using = using or router.db_for_write(TaskResult)
    tasks, groups, written = [], [], 0

    def flush():
        nonlocal written
        TaskResult.objects.using(using).bulk_create(tasks)
        GroupResult.objects.using(using).bulk_create(groups)
        written += len(tasks)
        tasks.clear()
        groups.clear()
        if progress:
            progress(written, count)

    with dates_as_given(TaskResult, GroupResult):
        for row in generate_results(count, now=now, rng=rng, days=days):
            if isinstance(row, GroupResult):
                groups.append(row)
                continue
            tasks.append(row)
            if len(tasks) >= batch_size:
                flush()
        if tasks or groups:
            flush()
    if analyze and written:
        analyze_tables(using, TaskResult, GroupResult)
    return written


def generate_results(count, *, now, rng, days=DEFAULT_DAYS):
    """Yield ``count`` unsaved ``TaskResult`` rows, oldest first, with a ``GroupResult`` after each group."""
    clock = TrafficClock(now, days)
    kinds = catalog.TASK_KINDS
    cum_weights = list(accumulate(kind.weight for kind in kinds))
    groupable = [kind for kind in kinds if kind.groupable]
    made = 0
    while made < count:
        created = clock.at((made + rng.random()) / count)
        if rng.random() < GROUP_SHARE and count - made >= GROUP_SIZES[0]:
            kind = rng.choice(groupable)
            size = min(rng.randint(*GROUP_SIZES), count - made)
            members = [
                task_result(kind, created + timedelta(milliseconds=15 * i), now, rng) for i in range(size)
            ]
            yield from members
            yield group_result(members, created, rng)
            made += size
        else:
            kind = rng.choices(kinds, cum_weights=cum_weights)[0]
            yield task_result(kind, created, now, rng)
            made += 1


class TrafficClock:
    """Maps a fraction of the traffic (0..1) to the time it happened.

    The period from ``now - days`` to ``now`` is cut into hours weighted by
    the daily rhythm; walking the fraction up walks time forward, busier
    hours taking a larger share of the rows.
    """

    def __init__(self, now, days):
        start = now - timedelta(days=days)
        self.starts, weights = [], []
        moment = start
        while moment < now:
            hour_end = min(moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), now)
            span = (hour_end - moment).total_seconds()
            weekend = WEEKEND_TRAFFIC if moment.weekday() >= 5 else 1.0
            self.starts.append(moment)
            weights.append(HOURLY_TRAFFIC[moment.hour] * weekend * span)
            moment = hour_end
        self.now = now
        total = sum(weights)
        self.cumulative = [w / total for w in accumulate(weights)]

    def at(self, fraction):
        index = min(bisect_right(self.cumulative, fraction), len(self.starts) - 1)
        before = self.cumulative[index - 1] if index else 0.0
        share = self.cumulative[index] - before
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else self.now
        within = (fraction - before) / share if share else 0.0
        return start + (end - start) * min(max(within, 0.0), 1.0)


def task_result(kind, created, now, rng):
    """One unsaved ``TaskResult`` of ``kind`` first written at ``created``."""
    args, kwargs, args_repr, kwargs_repr, value = CALLS[kind.name](rng, created)
    key = args[0] if args else ""
    worker = rng.choice(kind.workers)
    runtime = timedelta(seconds=kind.runtime * rng.lognormvariate(0, 0.6))
    started = created + timedelta(seconds=rng.uniform(0.002, 0.04))
    status = draw_status(kind, (now - created).total_seconds(), rng)
    row = TaskResult(
        task_id=new_id(rng),
        task_name=kind.name,
        periodic_task_name=kind.periodic if kind.periodic and rng.random() < 0.9 else None,
        task_args=json.dumps(args_repr or repr(tuple(args))),
        task_kwargs=json.dumps(kwargs_repr or repr(kwargs)),
        worker=worker,
        status=status,
        content_type=CONTENT_TYPE,
        content_encoding=CONTENT_ENCODING,
        meta=EMPTY_META,
        date_created=created,
        date_started=started,
    )
    if status == states.SUCCESS:
        retries = _retries_before_success(kind, rng)
        row.date_started = started + sum((timedelta(seconds=RETRY_COUNTDOWNS[i]) for i in range(retries)), timedelta())
        row.date_done = row.date_started + runtime
        row.result = json.dumps(value)
    elif status == states.FAILURE:
        failure = rng.choice(kind.failures)
        row.date_done = started + runtime * rng.uniform(0.1, 1.0)
        row.result = json.dumps(exception_payload(failure.module, failure.qualname, failure.exc_args(key)))
        row.traceback = failure_traceback(kind, failure).format(key)
    elif status == states.RETRY:
        failure = rng.choice(kind.failures)
        countdown = rng.choice(RETRY_COUNTDOWNS)
        row.date_done = started + runtime * rng.uniform(0.1, 1.0)
        row.result = json.dumps(exception_payload(failure.module, failure.qualname, failure.exc_args(key)))
        row.traceback = retry_traceback(kind, failure, countdown).format(key)
    elif status == states.STARTED:
        row.date_done = started
        row.result = json.dumps({"pid": rng.randint(300, 65000), "hostname": worker})
    elif status == states.REVOKED:
        if rng.random() < 0.5:  # revoked while it waited in the queue
            row.date_started = None
            row.date_done = created
            reason = "revoked"
        else:  # terminated while it ran
            row.date_done = started + runtime * rng.uniform(0.1, 1.0)
            reason = "terminated"
        row.result = json.dumps(exception_payload("celery.exceptions", "TaskRevokedError", [reason]))
    else:  # PENDING: known to the backend, not picked up by a worker yet
        row.worker = None
        row.date_started = None
        row.date_done = created
        row.result = json.dumps(None)
    if row.date_done > now:  # would finish in the future: it is still running
        row.status = states.STARTED
        row.date_started = min(row.date_started or started, now)
        row.date_done = row.date_started
        row.result = json.dumps({"pid": rng.randint(300, 65000), "hostname": worker})
        row.traceback = None
    return row


def draw_status(kind, age_seconds, rng):
    """Mostly SUCCESS; failures at the kind's rate; young tasks often still in flight."""
    recent = age_seconds < RECENT_SECONDS
    odds = (
        (states.PENDING, 0.04 if recent else 0.003),
        (states.STARTED, 0.12 if recent else 0.004),
        (states.RETRY, kind.retry_rate * (3 if recent else 0.3) + 0.001),
        (states.REVOKED, 0.008),
        (states.FAILURE, kind.failure_rate),
    )
    draw = rng.random()
    for status, chance in odds:
        if draw < chance:
            return status
        draw -= chance
    return states.SUCCESS


def _retries_before_success(kind, rng):
    if kind.retry_rate and rng.random() < kind.retry_rate:
        return rng.randint(1, len(RETRY_COUNTDOWNS))
    return 0


def group_result(members, created, rng):
    """The unsaved ``GroupResult`` of ``members``, encoded as Celery's ``GroupResult.as_tuple()``."""
    group_id = new_id(rng)
    tuples = [[group_id, None], [[[member.task_id, None], None] for member in members]]
    return GroupResult(
        group_id=group_id,
        date_created=created,
        date_done=created,
        content_type=CONTENT_TYPE,
        content_encoding=CONTENT_ENCODING,
        result=json.dumps(tuples),
    )


def new_id(rng):
    """A version 4 UUID drawn from ``rng``, like the ids Celery gives tasks."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def exception_payload(module, qualname, args):
    """An exception as Celery's JSON result serializer stores it."""
    return {"exc_type": qualname, "exc_message": args, "exc_module": module}


def _frames(frames):
    return "".join(f'  File "{path}", line {line}, in {function}\n    {source}\n' for path, line, function, source in frames)


def _braces(text):
    """Escape text so that ``str.format`` leaves it as it is."""
    return text.replace("{", "{{").replace("}", "}}")


@lru_cache(maxsize=None)
def failure_traceback(kind, failure):
    """The traceback template of ``failure`` raised in ``kind`` (``{0}``: the first argument)."""
    task_frame = (kind.module_path, kind.source[0], kind.function, kind.source[1])
    frames = _braces(_frames(TRACE_FRAMES + (task_frame,) + failure.frames))
    return f"Traceback (most recent call last):\n{frames}{_braces(failure.label)}: {failure.message}\n"


@lru_cache(maxsize=None)
def retry_traceback(kind, failure, countdown):
    """The traceback template of an automatic retry after ``failure``, as Celery chains them."""
    task_frame = (kind.module_path, kind.source[0], kind.function, kind.source[1])
    first = _braces(_frames((AUTORETRY_FRAME, task_frame) + failure.frames))
    then = _braces(_frames(TRACE_FRAMES + RETRY_FRAMES))
    exc_args = ", ".join(repr(arg) for arg in failure.exc_args("{0}"))
    return (
        f"Traceback (most recent call last):\n{first}{_braces(failure.label)}: {failure.message}\n"
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        f"Traceback (most recent call last):\n{then}"
        f"celery.exceptions.Retry: Retry in {countdown}s: {failure.qualname}({_braces(exc_args)})\n"
    )


@contextmanager
def dates_as_given(*models):
    """Let ``bulk_create`` store the generated dates instead of stamping the current time.

    ``auto_now``/``auto_now_add`` are switched off on the models' date
    fields for the duration, process-wide: use it in a command or a test
    set-up, not next to threads saving the same models.
    """
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def analyze_tables(using, *models):
    """Refresh the planner's statistics (and row estimates) of the models' tables.

    On MySQL/MariaDB ``ANALYZE TABLE`` commits the open transaction, so
    inside an atomic block it is left to the server's own statistics.
    """
    connection = connections[using]
    if connection.vendor == "mysql" and connection.in_atomic_block:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            table = quote(model._meta.db_table)
            if connection.vendor == "mysql":
                cursor.execute(f"ANALYZE TABLE {table}")
                cursor.fetchall()
            else:
                cursor.execute(f"ANALYZE {table}")


# --- what each task of the catalogue is called with and returns ------------
# Each maker returns (args, kwargs, argsrepr or None, kwargsrepr or None, result);
# argsrepr/kwargsrepr are given where the sender hides a secret.


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
    return (warehouse,), {}, None, None, {"warehouse": warehouse, "updated": rng.randint(0, 900), "unchanged": rng.randint(1000, 20000)}


def _build_daily_report(rng, when):
    day = (when - timedelta(days=1)).date().isoformat()
    result = {"file": f"reports/daily-{day}.pdf", "rows": rng.randint(20_000, 90_000), "bytes": rng.randint(200_000, 4_000_000)}
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
    result = {"image": image_id, "size": size, "path": f"thumbs/{image_id}-{size}.webp", "bytes": rng.randint(4_000, 400_000)}
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
