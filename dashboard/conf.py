"""The dashboard's settings, read at call time with their defaults.

Projects override them with a ``DASHBOARD`` dict in their settings; the
``results`` app's own settings (``ALLOW_EDITS``...) stay in ``results.conf``.
"""
from django.conf import settings

DEFAULTS = {
    # Serve the JSON status views of ``results.urls`` to anonymous users.
    "RESULTS_VIEWS_PUBLIC": False,
    # Where the layout's log-out button posts: a URL name or a path (None:
    # no button). A name the project does not have shows no button either.
    "LOGOUT_URL": "logout",
    # Most rows one export of the task list holds (CSV or JSON lines).
    "EXPORT_LIMIT": 100_000,
    # Rows per page of the task and group lists.
    "PER_PAGE": 25,
    # Counts are exact up to this many rows; above it the page says "more
    # than N" (and, where the database can tell, an estimate). Bounds the
    # cost of every count the dashboard runs.
    "COUNT_LIMIT": 10_000,
    # Deepest page number the offset paginator serves (sorts other than the
    # default newest-first, which pages by cursor at any depth).
    "MAX_PAGE": 2_000,
    # How many distinct workers / task names / statuses the filter form
    # offers, and how long those lists are cached (seconds; 0 = no cache).
    "FACET_LIMIT": 200,
    "FACET_CACHE_SECONDS": 60,
    # Live refresh intervals offered (seconds) for the polled tables.
    "REFRESH_INTERVALS": (2, 5, 10, 30, 60),
    # Traceback frames whose file path contains one of these are library
    # frames; the others are the project's own code.
    "LIBRARY_PATH_MARKERS": ("site-packages", "dist-packages", "/lib/python", "<frozen "),
    # Text longer than this (args, results, tracebacks) is cut on the detail
    # page, with a link to the full text.
    "DETAIL_TEXT_LIMIT": 20_000,
    # Other runs of the same task with the same arguments: how many to show,
    # and how many of the task name's latest runs to look through.
    "SAME_ARGS_SHOWN": 10,
    "SAME_ARGS_SCAN": 5_000,
    # A task's group is looked up among groups created within this many
    # seconds of the task (Celery does not store the group id on the task).
    "GROUP_LOOKUP_WINDOW": 24 * 3600,
    # Members shown on a group's page.
    "GROUP_MEMBERS_SHOWN": 500,
    # Live chord counters: how often the table polls (seconds), how many
    # counters it lists (oldest first), and after how many seconds a chord
    # whose header tasks are all ready (or gone) is flagged as stuck.
    "CHORDS_REFRESH": 2,
    "CHORDS_SHOWN": 200,
    "CHORD_STUCK_AFTER": 600,
    # Operator actions: most tasks one request acts on, and rows per
    # transaction when deleting.
    "ACTION_LIMIT": 1_000,
    "DELETE_BATCH_SIZE": 200,
    # How hard a retry or revoke tries to reach the broker before it reports
    # the broker as down (kombu's retry policy for publishing).
    "BROKER_RETRY_POLICY": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
    # Retrying a failure group's tasks in bulk (a re-drive): tasks sent per
    # second, most tasks one run sends, and how long one slice of the
    # sending Celery task runs before it hands over to the next (seconds).
    "REDRIVE_RATE": 10,
    "REDRIVE_LIMIT": 10_000,
    "REDRIVE_SLICE_SECONDS": 10,
    # Rows per page of the audit trail, and entries shown on a task's page.
    "AUDIT_PER_PAGE": 50,
    "AUDIT_SHOWN_ON_TASK": 20,
    # Statistics (``dashboard.statistics``). The pass counts rows whose
    # ``date_done`` is at least STATISTICS_LAG seconds old (room for a
    # worker's write to commit, and for clocks a little apart), at most
    # STATISTICS_PASS_ROWS per pass. A page whose figures are older than
    # STATISTICS_STALE seconds runs a pass of at most
    # STATISTICS_PAGE_PASS_ROWS rows itself (no beat needed).
    "STATISTICS_LAG": 5,
    "STATISTICS_PASS_ROWS": 20_000,
    "STATISTICS_STALE": 30,
    "STATISTICS_PAGE_PASS_ROWS": 5_000,
    # How long figures are kept, per granularity (days): minutes serve the
    # 1-hour and 6-hour windows (and the ones before them, for comparison),
    # quarter hours the 24-hour window, hours the 7-day window and the ends
    # of longer ones, days everything (STATISTICS_RETENTION_DAYS).
    "STATISTICS_RETENTION_DAYS": 90,
    "STATISTICS_MINUTE_DAYS": 1,
    "STATISTICS_QUARTER_DAYS": 3,
    "STATISTICS_HOUR_DAYS": 62,
    # A task stored again (a new ready state) within this many days of being
    # counted replaces its earlier figures; the pass remembers counted rows
    # that long.
    "STATISTICS_RECOUNT_DAYS": 7,
    # Rows deleted per statement when old figures are pruned.
    "STATISTICS_PRUNE_BATCH": 5_000,
    # A worker that stored results in the window and none for this many
    # seconds is flagged as gone quiet.
    "WORKER_QUIET_AFTER": 600,
    # /metrics (Prometheus): off unless a bearer token is set here.
    "METRICS_TOKEN": None,
    # How often the insights pages poll for new figures (seconds).
    "INSIGHTS_REFRESH": 10,
}


def dashboard_setting(name):
    """The value of ``settings.DASHBOARD[name]``, else its default."""
    return getattr(settings, "DASHBOARD", {}).get(name, DEFAULTS[name])
