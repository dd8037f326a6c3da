"""The imaginary shop whose Celery tasks the demo shows.

One catalogue, used by the bulk seeder (``demo.seed``) to fake a long
history and by the real demo tasks (``demo.tasks``), which register under
the same names, so that filtering the dashboard by a task name shows both
the seeded history and the live results of the running worker.
"""
from dataclasses import dataclass

SEND_INVOICE = "shop.tasks.send_invoice"
CHARGE_CARD = "shop.tasks.charge_card"
SYNC_INVENTORY = "shop.tasks.sync_inventory"
BUILD_DAILY_REPORT = "reports.tasks.build_daily_report"
EXPORT_CSV = "reports.tasks.export_csv"
SEND_WELCOME_EMAIL = "emails.tasks.send_welcome_email"
SEND_PASSWORD_RESET = "emails.tasks.send_password_reset"
GENERATE_THUMBNAIL = "images.tasks.generate_thumbnail"
PUBLISH_GALLERY = "images.tasks.publish_gallery"
REINDEX_PRODUCTS = "search.tasks.reindex_products"
RENEW_SUBSCRIPTIONS = "billing.tasks.renew_subscriptions"
TRACK_EVENT = "analytics.tasks.track_event"
DELIVER_WEBHOOK = "webhooks.tasks.deliver_webhook"
CLEANUP_SESSIONS = "maintenance.tasks.cleanup_sessions"

WEB_WORKERS = ("celery@web-1", "celery@web-2", "celery@web-3")
DEFAULT_WORKERS = ("celery@worker-1", "celery@worker-2", "celery@worker-3", "celery@worker-4")
REPORT_WORKERS = ("celery@reports-1",)
MEDIA_WORKERS = ("celery@media-1", "celery@media-2")
ALL_WORKERS = WEB_WORKERS + DEFAULT_WORKERS + REPORT_WORKERS + MEDIA_WORKERS


@dataclass(frozen=True)
class Failure:
    """An exception a task raises now and then, with the frames it comes through.

    ``frames`` are ``(file, line, function, source)`` below the task's own
    frame; ``message`` is a format string filled with the task's arguments.
    """

    module: str
    qualname: str
    message: str
    frames: tuple = ()
    args: tuple | None = None  # the exception's args, when not just (message,)

    @property
    def label(self):
        """How the last line of a traceback names the exception."""
        return self.qualname if self.module == "builtins" else f"{self.module}.{self.qualname}"

    def exc_args(self, key):
        """The exception's ``args``, as Celery stores them in ``exc_message``."""
        if self.args is not None:
            return list(self.args)
        return [self.message.format(key)]


@dataclass(frozen=True)
class TaskKind:
    """One task of the shop: how often it runs, where, how long, how it fails."""

    name: str
    weight: float
    workers: tuple
    runtime: float  # median seconds
    source: tuple  # (line, source) of the call in the task body that fails
    failures: tuple = ()
    failure_rate: float = 0.0
    retry_rate: float = 0.0
    periodic: str | None = None
    groupable: bool = False

    @property
    def module_path(self):
        """The task's source file, as a deployed app's traceback shows it."""
        return "/srv/shop/" + self.name.rsplit(".", 1)[0].replace(".", "/") + ".py"

    @property
    def function(self):
        return self.name.rsplit(".", 1)[1]


SMTP_DISCONNECTED = Failure(
    "smtplib",
    "SMTPServerDisconnected",
    "Connection unexpectedly closed",
    (
        ("/usr/lib/python3.11/smtplib.py", 887, "sendmail", "(code, resp) = self.mail(from_addr, esmtp_opts)"),
        ("/usr/lib/python3.11/smtplib.py", 550, "mail", "return self.getreply()"),
        (
            "/usr/lib/python3.11/smtplib.py", 405, "getreply",
            'raise SMTPServerDisconnected("Connection unexpectedly closed")',
        ),
    ),
)
CONNECTION_REFUSED = Failure(
    "builtins",
    "ConnectionRefusedError",
    "[Errno 111] Connection refused",
    (
        ("/usr/lib/python3.11/smtplib.py", 255, "__init__", "(code, msg) = self.connect(host, port)"),
        ("/usr/lib/python3.11/smtplib.py", 341, "connect", "self.sock = self._get_socket(host, port, self.timeout)"),
        ("/usr/lib/python3.11/socket.py", 851, "create_connection", "raise exceptions[0]"),
        ("/usr/lib/python3.11/socket.py", 836, "create_connection", "sock.connect(sa)"),
    ),
    args=(111, "Connection refused"),
)
CARD_DECLINED = Failure(
    "shop.payments",
    "CardDeclined",
    "Card declined for order {0}: insufficient_funds",
    (
        (
            "/srv/shop/shop/payments.py", 88, "charge",
            "raise CardDeclined(f\"Card declined for order {order_id}: {error['decline_code']}\")",
        ),
    ),
)
LOCK_TIMEOUT = Failure(
    "django.db.utils",
    "OperationalError",
    "canceling statement due to lock timeout\nCONTEXT:  while updating tuple (1822,14) in relation \"shop_stock\"",
    (
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/django/db/models/query.py", 1253, "update",
            "rows = query.get_compiler(self.db).execute_sql(CURSOR)",
        ),
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/django/db/backends/utils.py", 105, "_execute",
            "return self.cursor.execute(sql, params)",
        ),
    ),
)
MISSING_COLUMN = Failure(
    "builtins",
    "KeyError",
    "'region'",
    (("/srv/shop/reports/rows.py", 57, "summarise", 'totals[row["region"]] += row["amount"]'),),
    args=("region",),
)
SOFT_TIME_LIMIT = Failure(
    "celery.exceptions",
    "SoftTimeLimitExceeded",
    "SoftTimeLimitExceeded()",
    (
        ("/srv/shop/reports/rows.py", 31, "fetch_rows", "for chunk in cursor.fetchmany(5000):"),
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/billiard/pool.py", 229, "soft_timeout_sighandler",
            "raise SoftTimeLimitExceeded()",
        ),
    ),
    args=(),
)
UNIDENTIFIED_IMAGE = Failure(
    "PIL",
    "UnidentifiedImageError",
    "cannot identify image file '/srv/media/uploads/{0}.heic'",
    (
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/PIL/Image.py", 3498, "open",
            "raise UnidentifiedImageError(msg)",
        ),
    ),
)
SEARCH_TIMEOUT = Failure(
    "elastic_transport",
    "ConnectionTimeout",
    "Connection timed out",
    (
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/elasticsearch/helpers/actions.py", 542, "bulk",
            "for ok, item in streaming_bulk(",
        ),
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/elastic_transport/_transport.py", 328, "perform_request",
            "raise e.with_traceback(e.__traceback__)",
        ),
    ),
)
REDIS_DOWN = Failure(
    "redis.exceptions",
    "ConnectionError",
    "Error 111 connecting to redis:6379. Connection refused.",
    (
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/redis/client.py", 564, "execute_command",
            "conn = self.connection or pool.get_connection(command_name, **options)",
        ),
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/redis/connection.py", 353, "connect",
            "raise ConnectionError(self._error_message(e))",
        ),
    ),
)
WEBHOOK_BAD_GATEWAY = Failure(
    "requests.exceptions",
    "HTTPError",
    "502 Server Error: Bad Gateway for url: https://hooks.partner.example/endpoints/{0}",
    (
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/requests/models.py", 1024, "raise_for_status",
            "raise HTTPError(http_error_msg, response=self)",
        ),
    ),
)
WEBHOOK_UNREACHABLE = Failure(
    "requests.exceptions",
    "ConnectionError",
    "HTTPSConnectionPool(host='hooks.partner.example', port=443): Max retries exceeded with url: "
    "/endpoints/{0} (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
    "0x7f3a1c2b9d50>: Failed to establish a new connection: [Errno 111] Connection refused'))",
    (
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/requests/api.py", 115, "post",
            'return request("post", url, data=data, json=json, **kwargs)',
        ),
        (
            "/srv/shop/.venv/lib/python3.11/site-packages/requests/adapters.py", 700, "send",
            "raise ConnectionError(e, request=request)",
        ),
    ),
)

TASK_KINDS = (
    TaskKind(
        SEND_INVOICE, 10, WEB_WORKERS, 0.8, (41, "mailer.send(invoice.as_email(to=email))"),
        (SMTP_DISCONNECTED, CONNECTION_REFUSED), failure_rate=0.04, retry_rate=0.03, groupable=True,
    ),
    TaskKind(
        CHARGE_CARD, 8, WEB_WORKERS, 1.2, (63, "charge = gateway.charge(order_id, amount_cents, token=card_token)"),
        (CARD_DECLINED,), failure_rate=0.06,
    ),
    TaskKind(
        SYNC_INVENTORY, 2, DEFAULT_WORKERS, 12.0,
        (102, "Stock.objects.filter(sku__in=skus).update(quantity=F(\"quantity\") - sold)"),
        (LOCK_TIMEOUT,), failure_rate=0.02, periodic="sync-inventory",
    ),
    TaskKind(
        BUILD_DAILY_REPORT, 0.3, REPORT_WORKERS, 95.0, (24, "totals = summarise(fetch_rows(day))"),
        (MISSING_COLUMN, SOFT_TIME_LIMIT), failure_rate=0.05, periodic="daily-report",
    ),
    TaskKind(
        EXPORT_CSV, 1.5, REPORT_WORKERS, 20.0, (77, "writer.writerows(summarise(fetch_rows(report.day)))"),
        (MISSING_COLUMN, SOFT_TIME_LIMIT), failure_rate=0.04,
    ),
    TaskKind(
        SEND_WELCOME_EMAIL, 6, DEFAULT_WORKERS, 0.6, (19, "mailer.send(welcome_message(user))"),
        (SMTP_DISCONNECTED,), failure_rate=0.02, retry_rate=0.02, groupable=True,
    ),
    TaskKind(
        SEND_PASSWORD_RESET, 2, DEFAULT_WORKERS, 0.4, (35, "mailer.send(reset_message(user, token))"),
        (SMTP_DISCONNECTED,), failure_rate=0.01,
    ),
    TaskKind(
        GENERATE_THUMBNAIL, 9, MEDIA_WORKERS, 1.5, (28, "with Image.open(upload.path) as image:"),
        (UNIDENTIFIED_IMAGE,), failure_rate=0.03, groupable=True,
    ),
    TaskKind(
        REINDEX_PRODUCTS, 0.6, DEFAULT_WORKERS, 40.0, (49, "bulk(es, product_documents(since))"),
        (SEARCH_TIMEOUT,), failure_rate=0.03, retry_rate=0.02, periodic="reindex-products",
    ),
    TaskKind(
        RENEW_SUBSCRIPTIONS, 0.4, DEFAULT_WORKERS, 8.0, (66, "renewals = Subscription.objects.due().renew_all()"),
        (LOCK_TIMEOUT,), failure_rate=0.01, periodic="renew-subscriptions",
    ),
    TaskKind(
        TRACK_EVENT, 30, DEFAULT_WORKERS + WEB_WORKERS, 0.05,
        (12, "redis.xadd(\"events\", {\"name\": event, \"user\": user_id})"),
        (REDIS_DOWN,), failure_rate=0.005,
    ),
    TaskKind(
        DELIVER_WEBHOOK, 7, DEFAULT_WORKERS, 0.9,
        (44, "response = session.post(endpoint.url, json=payload, timeout=10)"),
        (WEBHOOK_BAD_GATEWAY, WEBHOOK_UNREACHABLE), failure_rate=0.08, retry_rate=0.06, groupable=True,
    ),
    TaskKind(
        CLEANUP_SESSIONS, 0.5, DEFAULT_WORKERS, 2.0,
        (15, "deleted, _ = Session.objects.filter(expire_date__lt=now()).delete()"),
        (LOCK_TIMEOUT,), failure_rate=0.005, periodic="cleanup-sessions",
    ),
)
