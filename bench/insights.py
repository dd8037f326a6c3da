"""Benchmark: the insights' statistics at ten million task results.

    .venv/bin/python bench/insights.py [--database-url URL] [--rows N] [--days D] [--runs R]

On PostgreSQL (default ``postgres://postgres@127.0.0.1:5432/dash_bench``,
created when missing; its results and statistics tables are emptied first)
or on SQLite (``--database-url sqlite:////tmp/wt-perf-var/bench.sqlite3``)
it prints, figures only, nothing asserted:

1. seeding ``--rows`` results over ``--days`` days in the database itself
   (``INSERT ... SELECT ... generate_series``, on SQLite a recursive CTE, the
   table's secondary indexes dropped meanwhile and built again after): 20 task names with runtimes of
   their own, 8 workers, a few periodic tasks, mostly SUCCESS with 10 %
   FAILURE (each with a traceback: ``CAUSES`` causes, its message holding
   the row's own number), some RETRY and REVOKED;
2. every failure fingerprinted (``failures.fingerprint_missing``, what a
   first rebuild does once): failures/s; then the statistics built from
   scratch (``rebuild.rebuild``, reusing those fingerprints): seconds, rows/s;
3. an incremental pass over 1,000 new rows (``rollup.run_pass``): ms;
4. the read paths of the pages for every window (``queries.figures``,
   ``series``, ``figures_by_key`` per task name and per worker): p50/p95 and
   queries, beside the same figures aggregated from the raw results table
   (``COUNT`` per state or key, ``percentile_cont``) in the same run, and
   their ratio;
5. pages (``time_pages``): every insights page (a task name's for the
   busiest task name) for every window, GETs through Django's test client
   logged in as a superuser: p50/p95 server time and queries, beside the raw
   aggregates of the results table giving the same figures, and their ratio;
   the failures pages too (a failure group's for the biggest group);
6. the task list filtered on the biggest failure group beside filtered on
   ``status=FAILURE``: its first page and the next, p50/p95 and queries.
"""
import argparse
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dash_bench"
PAGES = ["dashboard:overview", "dashboard:task-names", "dashboard:task-name", "dashboard:workers",
         "dashboard:periodic", "dashboard:failures", "dashboard:failure"]
SEED_CHUNK = 1_000_000

# name, median runtime (ms), spread (sigma of its logarithm), share of the traffic (weight)
TASKS = [
    ("shop.charge_card", 180, 0.6, 14), ("shop.refund", 240, 0.7, 2), ("shop.send_receipt", 45, 0.5, 12),
    ("mail.send", 90, 0.8, 16), ("mail.digest", 2_500, 0.9, 1), ("sms.send", 120, 0.6, 5),
    ("images.thumbnail", 600, 0.7, 9), ("images.transcode", 12_000, 0.8, 2), ("search.index_document", 30, 1.0, 10),
    ("search.reindex_all", 300_000, 0.4, 1), ("reports.build_daily", 45_000, 0.5, 1),
    ("reports.export_csv", 8_000, 1.1, 2),
    ("crm.sync_contact", 350, 0.9, 6), ("crm.sync_all", 90_000, 0.6, 1), ("billing.invoice", 700, 0.5, 4),
    ("billing.dunning", 1_500, 0.6, 1), ("cache.warm", 15, 0.4, 6), ("cleanup.expire_sessions", 4_000, 0.5, 1),
    ("webhooks.deliver", 250, 1.3, 5), ("ml.score", 1_800, 0.7, 3),
]
WORKERS = 8
PERIODIC = {"reports.build_daily": "daily-report", "crm.sync_all": "crm-nightly", "cache.warm": "warm-every-minute",
            "cleanup.expire_sessions": "hourly-cleanup", "search.reindex_all": "weekly-reindex"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each read path and page")
    parser.add_argument("--raw-runs", type=int, help="timed runs of the raw aggregates (--runs)")
    parser.add_argument("--reuse", action="store_true", help="keep the rows already there when their count is --rows")
    parser.add_argument("--skip", default="", help="sections to skip, comma-separated numbers (2,3,4,5,6,7)")
    parser.add_argument("--pages", default="", help="section 5's pages only, comma-separated (failures,failure)")
    return parser.parse_args()


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import dj_database_url

    config = dj_database_url.parse(database_url)
    if config["ENGINE"].endswith("postgresql"):
        import psycopg

        with psycopg.connect(host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
                             password=config["PASSWORD"] or None, dbname="postgres", autocommit=True) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
                admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
    import django

    django.setup()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(function, runs, warmup=1):
    """``(p50 ms, p95 ms, queries of one run, last result)``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = function()  # the first warm-up run, its queries counted
    for _ in range(warmup - 1):
        function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95), len(captured.captured_queries), result


# --- seeding -----------------------------------------------------------------


def _array(values, cast):
    return "(ARRAY[" + ", ".join(f"'{v}'" if cast == "text" else str(v) for v in values) + f"]::{cast}[])"


#: Distinct causes of the seeded failures (``dashboard.fingerprints``): a project frame each, the same message.
CAUSES = 1_000


def traceback_sql(number, vendor):
    """SQL of a failure's traceback: row ``number`` fails in one of ``CAUSES`` project functions, its message
    holding the row's own number (normalised away), its line numbers varying (ignored)."""
    newline = "char(10)" if vendor == "sqlite" else "chr(10)"
    return (
        f"'Traceback (most recent call last):' || {newline} || '  File \"/venv/lib/python3.11/site-packages/celery/app/"
        f"trace.py\", line 453, in trace_task' || {newline} || '    R = retval = fun(*args, **kwargs)' || {newline}"
        f" || '  File \"/srv/app/jobs/step_' || ({number} %% {CAUSES}) || '.py\", line ' || ({number} %% 97 + 1)"
        f" || ', in run' || {newline} || '    do(item)' || {newline} || 'ValueError: item ' || {number} || ' of batch '"
        f" || ({number} %% 13) || ' failed'"
    )


def insert_rows_sql(table, prefix):
    """``INSERT ... SELECT`` of rows ``%(first)s .. %(last)s`` done between ``%(since)s`` and ``%(until)s``."""
    cumulative, total = [], 0
    for *_rest, weight in TASKS:
        total += weight
        cumulative.append(total)
    names = _array([t[0] for t in TASKS], "text")
    medians = _array([t[1] for t in TASKS], "float8")
    sigmas = _array([t[2] for t in TASKS], "float8")
    periodic = _array([PERIODIC.get(t[0], "") for t in TASKS], "text")
    # the task: the first whose cumulative weight exceeds a uniform draw
    pick = "CASE " + " ".join(f"WHEN r.pick < {c / total} THEN {i + 1}" for i, c in enumerate(cumulative)) + " END"
    normal = "sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())"
    return f"""
        INSERT INTO {table} (task_id, task_name, periodic_task_name, status, worker, content_type,
                             content_encoding, result, traceback, date_created, date_started, date_done)
        SELECT '{prefix}' || r.g, {names}[r.t], NULLIF({periodic}[r.t], ''),
               r.status, CASE WHEN r.started THEN 'celery@worker-' || r.w END,
               'application/json', 'utf-8', CASE WHEN r.status = 'SUCCESS' THEN 'null' END,
               CASE WHEN r.status = 'FAILURE' THEN {traceback_sql("r.g", "postgresql")} END,
               r.done - r.runtime - r.wait,
               CASE WHEN r.started THEN r.done - r.runtime END,
               r.done
        FROM (
            SELECT s.*, s.status <> 'REVOKED' OR random() < 0.3 AS started
            FROM (
                SELECT g, t, w, pick, u, done,
                       CASE WHEN u < 0.86 THEN 'SUCCESS' WHEN u < 0.96 THEN 'FAILURE'
                            WHEN u < 0.985 THEN 'RETRY' ELSE 'REVOKED' END AS status,
                       make_interval(secs => {medians}[t] * exp({sigmas}[t] * {normal}) / 1000) AS runtime,
                       make_interval(secs => 0.02 * exp(1.6 * {normal})) AS wait
                FROM (
                    SELECT g, {pick} AS t, 1 + floor(random() * {WORKERS})::int AS w, pick, random() AS u,
                           %(until)s - (%(until)s - %(since)s) * random() AS done
                    FROM (SELECT g, random() AS pick FROM generate_series(%(first)s, %(last)s) AS g) AS r
                ) AS s0
            ) AS s
        ) AS r
    """


def insert_rows_sqlite(table, prefix):
    """SQLite: the same rows as ``insert_rows_sql``, from a recursive CTE (materialised: each draw made once)."""
    cumulative, total = [], 0
    for *_rest, weight in TASKS:
        total += weight
        cumulative.append(total)
    tasks = ", ".join(
        f"({i + 1}, '{name}', {median}.0, {sigma}, {repr(PERIODIC[name]) if name in PERIODIC else 'NULL'})"
        for i, (name, median, sigma, _weight) in enumerate(TASKS)
    )
    pick = "CASE " + " ".join(f"WHEN a.pick < {c / total} THEN {i + 1}" for i, c in enumerate(cumulative)) + " END"
    stamp = "'%%Y-%%m-%%d %%H:%%M:%%f'"
    return f"""
        WITH RECURSIVE g(n) AS (SELECT %(first)s UNION ALL SELECT n + 1 FROM g WHERE n < %(last)s),
        tasks(t, name, median, sigma, periodic) AS (VALUES {tasks}),
        a AS MATERIALIZED (SELECT n, RAND() AS pick, RAND() AS u, RAND() AS wr, RAND() AS dr, RAND() AS n1,
                                  RAND() AS n2, RAND() AS n3, RAND() AS n4, RAND() AS sr FROM g),
        b AS MATERIALIZED (SELECT a.*, {pick} AS t,
                                  CASE WHEN u < 0.86 THEN 'SUCCESS' WHEN u < 0.96 THEN 'FAILURE'
                                       WHEN u < 0.985 THEN 'RETRY' ELSE 'REVOKED' END AS status FROM a),
        c AS MATERIALIZED (
            SELECT b.n, b.status, tasks.name, tasks.periodic, 1 + CAST(b.wr * {WORKERS} AS INTEGER) AS w,
                   julianday(%(until)s) - (julianday(%(until)s) - julianday(%(since)s)) * b.dr AS done,
                   tasks.median * exp(tasks.sigma * sqrt(-2 * ln(1 - b.n1)) * cos(2 * pi() * b.n2))
                       / 1000 / 86400.0 AS runtime,
                   0.02 * exp(1.6 * sqrt(-2 * ln(1 - b.n3)) * cos(2 * pi() * b.n4)) / 86400.0 AS wait,
                   (b.status <> 'REVOKED' OR b.sr < 0.3) AS started
            FROM b JOIN tasks ON tasks.t = b.t
        )
        INSERT INTO {table} (task_id, task_name, periodic_task_name, status, worker, content_type,
                             content_encoding, result, traceback, date_created, date_started, date_done)
        SELECT '{prefix}' || n, name, periodic, status, CASE WHEN started THEN 'celery@worker-' || w END,
               'application/json', 'utf-8', CASE WHEN status = 'SUCCESS' THEN 'null' END,
               CASE WHEN status = 'FAILURE' THEN {traceback_sql("n", "sqlite")} END,
               strftime({stamp}, done - runtime - wait), CASE WHEN started THEN strftime({stamp}, done - runtime) END,
               strftime({stamp}, done)
        FROM c
    """


def _insert(cursor, table, prefix, first, last, since, until):
    from django.db import connection

    if connection.vendor == "sqlite":
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute(insert_rows_sqlite(table, prefix),
                       {"first": first, "last": last, "since": adapt(since), "until": adapt(until)})
    else:
        cursor.execute(insert_rows_sql(table, prefix), {"first": first, "last": last, "since": since, "until": until})


def seed(rows, days, now):
    from django.db import connection

    from dashboard.models import Activity, Bucket, CountedTask, RollupState
    from demo.seed import analyze_tables
    from results.models import TaskResult

    table = TaskResult._meta.db_table
    indexes = TaskResult._meta.indexes  # the lists' indexes: built again after the load, not row by row
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for model in (TaskResult, Bucket, CountedTask, RollupState, Activity):
            if postgresql:
                cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
            else:
                cursor.execute(f"DELETE FROM {model._meta.db_table}")
        for index in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{index.name}"')
        if postgresql:
            cursor.execute("SELECT setseed(0.12)")
        start = time.perf_counter()
        try:
            for first in range(1, rows + 1, SEED_CHUNK):
                last = min(first + SEED_CHUNK - 1, rows)
                _insert(cursor, table, "bench-", first, last, now - timedelta(days=days), now - timedelta(minutes=1))
                print(f"\r  inserted {last:,} rows", end="", flush=True)
            inserted = time.perf_counter() - start
            print()
        finally:
            if postgresql:
                cursor.execute("SET maintenance_work_mem = '1GB'")
            with connection.schema_editor() as editor:
                for index in indexes:
                    editor.add_index(TaskResult, index)
        indexed = time.perf_counter() - start - inserted
    analyze_tables(connection.alias, TaskResult)
    elapsed = time.perf_counter() - start
    print(f"  {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s): inserted in {inserted:.1f} s"
          f" ({rows / inserted:,.0f} rows/s), {len(indexes)} secondary indexes built again in {indexed:.1f} s")


def ensure_indexes():
    """The results table's indexes a seed interrupted (a database restarted) did not build again."""
    from django.db import connection

    from demo.seed import analyze_tables
    from results.models import TaskResult

    with connection.cursor() as cursor:
        there = connection.introspection.get_constraints(cursor, TaskResult._meta.db_table)
        missing = [index for index in TaskResult._meta.indexes if index.name not in there]
        if connection.vendor == "postgresql":
            cursor.execute("SET maintenance_work_mem = '1GB'")
    if missing:
        start = time.perf_counter()
        with connection.schema_editor() as editor:
            for index in missing:
                editor.add_index(TaskResult, index)
        analyze_tables(connection.alias, TaskResult)
        print(f"  {len(missing)} missing indexes built in {time.perf_counter() - start:.1f} s")


def fresh_rows(count, since, until, prefix):
    """``count`` new rows, ready, done in ``(since, until]``."""
    from django.db import connection

    from results.models import TaskResult

    table = TaskResult._meta.db_table
    with connection.cursor() as cursor:
        _insert(cursor, table, prefix, 1, count, since, until)
        cursor.execute(f"UPDATE {table} SET status = 'SUCCESS' WHERE task_id LIKE %s AND status = 'RETRY'",
                       [f"{prefix}%"])


# --- the read paths, and the same figures from the raw table --------------------


def _percentile_cont(ordered, fraction):
    """``percentile_cont``: the linear interpolation between the closest ranks of sorted values."""
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def raw_figures(span, column=None, name=None):
    """Counts per state (per key) and runtime percentiles (per key), aggregated from the results table.

    With ``name``, only that task name's rows. SQLite has no ``percentile_cont``: the durations are read
    back sorted and the percentiles taken here.
    """
    from django.db import connection

    from dashboard.statistics import rollup
    from results.models import TaskResult

    table = TaskResult._meta.db_table
    ready = ", ".join(f"'{s}'" for s in rollup.READY_STATES)
    key = column or "''"
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(span[0]), adapt(span[1])] + ([name] if name is not None else [])
    where = f"status IN ({ready}) AND date_done >= %s AND date_done < %s"
    if name is not None:
        where += " AND task_name = %s"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key}, status, COUNT(*) FROM {table} WHERE {where} GROUP BY 1, 2", params)
        counts = cursor.fetchall()
        if connection.vendor == "sqlite":
            result = []
            for later, earlier in (("date_done", "date_started"), ("date_started", "date_created")):
                cursor.execute(
                    f"SELECT {key}, (julianday({later}) - julianday({earlier})) * 86400 AS d FROM {table}"
                    f" WHERE {where} AND date_started IS NOT NULL ORDER BY 1, 2", params
                )
                by_key = {}
                for k, value in cursor.fetchall():
                    by_key.setdefault(k, []).append(value)
                result.append({k: [_percentile_cont(v, f) for f in (0.5, 0.95, 0.99)] for k, v in by_key.items()})
            return counts, [(k, p, result[1].get(k)) for k, p in result[0].items()]
        cursor.execute(
            f"SELECT {key}, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP"
            f" (ORDER BY EXTRACT(EPOCH FROM date_done - date_started)),"
            f" percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP"
            f" (ORDER BY EXTRACT(EPOCH FROM date_started - date_created))"
            f" FROM {table} WHERE {where} AND date_started IS NOT NULL GROUP BY 1", params
        )
        return counts, cursor.fetchall()


def raw_series(window, span, name=None):
    from django.db import connection

    from dashboard.statistics import rollup
    from results.models import TaskResult

    ready = ", ".join(f"'{s}'" for s in rollup.READY_STATES)
    adapt = connection.ops.adapt_datetimefield_value
    where = f"status IN ({ready}) AND date_done >= %s AND date_done < %s"
    params = [adapt(span[0]), adapt(span[1])]
    if name is not None:
        where += " AND task_name = %s"
        params.append(name)
    if connection.vendor == "sqlite":
        seconds = int(window.bucket.total_seconds())
        bucket, bucket_params = f"CAST(strftime('%%s', date_done) AS INTEGER) / {seconds}", []
    else:
        bucket, bucket_params = "date_bin(%s, date_done, TIMESTAMPTZ '1970-01-01 00:00:00+00')", [window.bucket]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {bucket}, status, COUNT(*) FROM {TaskResult._meta.db_table} WHERE {where} GROUP BY 1, 2",
            [*bucket_params, *params],
        )
        return cursor.fetchall()


def time_read_paths(runs, now, raw_runs=None):
    from dashboard.statistics import queries
    from dashboard.statistics.buckets import WINDOWS, window_span
    from dashboard.statistics.models import Dimension

    header = (f"{'window':<6} {'read path':<22} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7}"
              f" {'raw p50':>9} {'raw p95':>9} {'raw q':>5} {'raw/stats':>9}  check")
    print(header)
    print("-" * len(header))
    for name, window in WINDOWS.items():
        span = window_span(window, now)
        paths = [
            ("figures (headline)", lambda span=span: queries.figures(span), lambda span=span: raw_figures(span)),
            ("series", lambda window=window, span=span: queries.series(window, span),
             lambda window=window, span=span: raw_series(window, span)),
            ("figures_by_key task", lambda span=span: queries.figures_by_key(span, Dimension.TASK_NAME),
             lambda span=span: raw_figures(span, "task_name")),
            ("figures_by_key worker", lambda span=span: queries.figures_by_key(span, Dimension.WORKER),
             lambda span=span: raw_figures(span, "worker")),
        ]
        for label, stats_path, raw_path in paths:
            p50, p95, count, result = timed(stats_path, runs)
            raw50, raw95, raw_count, raw = timed(raw_path, raw_runs or runs)
            print(f"{name:<6} {label:<22} {p50:8.2f} {p95:8.2f} {count:7d} {raw50:9.2f} {raw95:9.2f}"
                  f" {raw_count:5d} {raw50 / p50:8.1f}x  {check(label, result, raw)}")


def check(label, result, raw):
    """Whether the statistics' counts equal the raw table's (the percentiles are within the bins' 4.9 %)."""
    if label == "series":
        stats_total = sum(sum(point.counts.values()) for point in result)
        raw_total = sum(n for *_rest, n in raw)
    elif label.startswith("figures_by_key"):
        stats_total = {key: dict(figures.counts) for key, figures in result.items()}
        raw_total = {}
        for key, status, n in raw[0]:
            if key:
                raw_total.setdefault(key, {})[status] = n
    else:
        stats_total = dict(result.counts)
        raw_total = {status: n for _key, status, n in raw[0]}
    return "same counts" if stats_total == raw_total else "COUNTS DIFFER"


def busiest_task_name():
    """The task name with the most tasks finished in the last 30 days' stored figures."""
    from django.db.models import Sum

    from dashboard.models import Bucket
    from dashboard.statistics.models import Dimension

    row = (Bucket.objects.filter(granularity="d", dimension=Dimension.TASK_NAME).values("key")
           .annotate(n=Sum("count")).order_by("-n", "key").first())
    return row["key"] if row else None


def raw_page(url, window, span, name):
    """The raw aggregates of the results table that give a page's figures (None where there is none)."""
    from dashboard.statistics.buckets import previous_span

    if url == "dashboard:overview":
        return lambda: (raw_figures(span), raw_figures(previous_span(span)), raw_series(window, span),
                        raw_figures(span, "task_name"))
    if url == "dashboard:task-names":
        return lambda: raw_figures(span, "task_name")
    if url == "dashboard:task-name":
        return lambda: (raw_figures(span, name=name), raw_series(window, span, name))
    if url == "dashboard:workers":
        return lambda: raw_figures(span, "worker")
    if url == "dashboard:periodic":
        return lambda: raw_figures(span, "periodic_task_name")
    return None


def time_pages(urls, runs, raw_runs=None):
    """Time GETs of ``urls`` (URL names) for every window, as a superuser: p50/p95, queries, beside the raw reads."""
    from django.conf import settings
    from django.db import OperationalError, connection
    from django.test import override_settings
    from django.urls import reverse

    from dashboard.statistics.buckets import WINDOWS

    raw_runs = raw_runs or runs
    name = busiest_task_name()
    biggest = biggest_failure_group()
    with override_settings(
        DEBUG=False, ALLOWED_HOSTS=["*"],
        STORAGES={**settings.STORAGES,
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
    ):
        client = superuser_client()
        print(f"  a task name's page: the busiest, {name}; a failure group's: the biggest, {biggest}")
        header = (f"{'page':<22} {'window':<6} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7} {'kB':>5}"
                  f" {'raw p50':>9} {'raw p95':>9} {'raw/page':>8}")
        print(header)
        print("-" * len(header))
        for url in urls:
            args = {"dashboard:task-name": [name], "dashboard:failure": [biggest]}.get(url, [])
            if None in args:
                continue
            path = reverse(url, args=args)
            for window_name, window in WINDOWS.items():
                for _attempt in range(3):  # the database may be restarted meanwhile (a CI's fault tests)
                    try:
                        time_page(client, url, path, window_name, window, name, runs, raw_runs)
                        break
                    except OperationalError as error:
                        print(f"{url:<22} {window_name:<6} database error ({error}), again in 10 s", flush=True)
                        connection.close()
                        time.sleep(10)


def chosen_pages(names):
    """The URL names of ``PAGES`` that ``--pages`` names (``failures`` for ``dashboard:failures``); all without it."""
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    unknown = wanted - {url.split(":")[1] for url in PAGES}
    if unknown:
        raise SystemExit(f"--pages: no such page {', '.join(sorted(unknown))} (pages: {', '.join(PAGES)})")
    return [url for url in PAGES if not wanted or url.split(":")[1] in wanted]


def superuser_client():
    """A test client logged in as the bench's superuser (the pages' timings include no permission lookups)."""
    from django.contrib.auth.models import User
    from django.test import Client

    user, _created = User.objects.get_or_create(username="bench-insights",
                                                defaults={"is_superuser": True, "is_staff": True})
    client = Client()
    client.force_login(user)
    return client


def biggest_failure_group():
    from dashboard.models import FailureGroup

    return FailureGroup.objects.order_by("-count", "digest").values_list("digest", flat=True).first()


def time_task_lists(runs):
    """``/dashboard/tasks/?fingerprint=`` of the biggest group beside ``?status=FAILURE``: first page and the next.

    On PostgreSQL, then a group of a fifth of all failures (what one bad
    deploy makes), in a transaction rolled back afterwards: a page of it is
    read from the group's index whatever its size.
    """
    from django.db import connection, transaction

    client = superuser_client()
    biggest = biggest_failure_group()
    time_list(client, "status=FAILURE", {"status": "FAILURE"}, runs)
    time_list(client, f"fingerprint={biggest}", {"fingerprint": biggest}, runs)
    if connection.vendor != "postgresql":
        return
    huge = "f" * 16
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE dashboard_failure SET digest = %s WHERE row_id %% 5 = 0", [huge])
            moved = cursor.rowcount
            cursor.execute("ANALYZE dashboard_failure")
        time_list(client, f"fingerprint={huge[:8]}... ({moved:,} failures)", {"fingerprint": huge}, runs)
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) dashboard_failure")  # the rolled-back rows, and the visibility map again


def time_list(client, label, query, runs):
    """The task list for ``query``: its first page, then the next (by the first page's cursor)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    url = reverse("dashboard:tasks")
    for page in ("first", "next"):
        response = client.get(url, query)
        if page == "next":
            # the first page's only cursor link is to the next page
            found = re.search(r'[?&](?:amp;)?cursor=([^"&]+)', response.content.decode())
            cursor = unquote(found.group(1)) if found else None
            if not cursor:
                continue
            query = {**query, "cursor": cursor}
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            client.get(url, query)
            samples.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get(url, query)
        print(f"  {label:<40} {page:<5} p50 {statistics.median(samples):7.2f} ms"
              f"  p95 {percentile(samples, 0.95):7.2f} ms  {len(captured.captured_queries)} queries", flush=True)


def time_page(client, url, path, window_name, window, name, runs, raw_runs):
    """One page in one window: p50/p95 of ``runs`` GETs, its queries and size, beside its raw aggregates."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dashboard.statistics.buckets import window_span

    query = f"{path}?window={window_name}"
    response = client.get(query)
    if response.status_code != 200:
        print(f"{url:<22} {window_name:<6} answered {response.status_code}")
        return
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(query)
        samples.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as captured:
        client.get(query)
    p50 = statistics.median(samples)
    line = (f"{url:<22} {window_name:<6} {p50:8.2f} {percentile(samples, 0.95):8.2f}"
            f" {len(captured.captured_queries):7d} {len(response.content) / 1000:5.0f}")
    raw = raw_page(url, window, window_span(window, timezone.now()), name)
    if raw is not None:
        raw50, raw95, _count, _result = timed(raw, raw_runs, warmup=1)
        line += f" {raw50:9.2f} {raw95:9.2f} {raw50 / p50:7.1f}x"
    print(line, flush=True)


def main():
    args = parse_args()
    setup_django(args.database_url)

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from dashboard.statistics import rollup
    from results.models import TaskResult

    if connection.vendor not in ("postgresql", "sqlite"):
        raise SystemExit("bench/insights.py seeds in SQL for PostgreSQL and SQLite only (--database-url)")
    call_command("migrate", verbosity=0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if connection.vendor == "postgresql":
        server = f"PostgreSQL {connection.cursor().connection.info.server_version}"
    else:
        import sqlite3

        server = f"SQLite {sqlite3.sqlite_version}"
    print(f"database: {server} {connection.settings_dict['NAME']}; {os.cpu_count()} CPUs, load average {load}")
    now = datetime.now(UTC).replace(microsecond=0)

    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    how = "generate_series" if connection.vendor == "postgresql" else "a recursive CTE"
    print(f"\n1. seed {args.rows:,} results over {args.days} days (INSERT ... SELECT, {how})")
    have = TaskResult.objects.count()
    if args.reuse and have >= args.rows:
        print(f"  reusing the {have:,} rows there")
        ensure_indexes()
    else:
        seed(args.rows, args.days, now)
    ready = TaskResult.objects.filter(status__in=rollup.READY_STATES).count()
    print(f"  {ready:,} of them ready (SUCCESS, FAILURE, REVOKED)")

    if "2" not in skip:
        build()
    moment = timezone.now()
    if "3" not in skip:
        moment = incremental_passes()
    if "4" not in skip:
        print(f"\n4. read paths, {args.runs} runs each, beside the same figures from the raw table")
        time_read_paths(args.runs, moment, args.raw_runs)

    if "5" not in skip:
        print(f"\n5. pages, {args.runs} GETs each, beside the raw aggregates giving the same figures")
        try:
            time_pages(chosen_pages(args.pages), args.runs, args.raw_runs)
        except ImportError as error:  # a module the pages need is not there yet (in a branch under way)
            print(f"  skipped: the URLs do not import ({error})")
    if "6" not in skip:
        from django.test import override_settings

        print(f"\n6. the task list filtered on a failure group beside filtered on its state, {args.runs} GETs each")
        with override_settings(DEBUG=False, ALLOWED_HOSTS=["*"]):
            time_task_lists(args.runs)
    if "7" not in skip:
        print(f"\n7. /metrics, {args.runs} GETs")
        time_metrics(args.runs)


def time_metrics(runs):
    """``/metrics`` (Prometheus) as a scraper reads it, with its bearer token: p50/p95, queries, size."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    token = "bench-metrics-token"
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["*"], DASHBOARD={"METRICS_TOKEN": token}):
        client = Client(headers={"Authorization": f"Bearer {token}"})
        response = client.get("/metrics")
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            client.get("/metrics")
            samples.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get("/metrics")
    series = sum(1 for line in response.content.decode().splitlines() if line and not line.startswith("#"))
    print(f"  /metrics p50 {statistics.median(samples):7.2f} ms  p95 {percentile(samples, 0.95):7.2f} ms"
          f"  {len(captured.captured_queries)} queries, {series:,} series, {len(response.content) / 1000:.0f} kB"
          f" (goal p50 < 50 ms)", flush=True)


def _empty_statistics():
    """From scratch: no figures stored (not timed). A run's rebuild leaves as many dead rows as it wrote in the
    tables of the one before it (PostgreSQL's MVCC), which would slow the next run's rebuild with a bloat that a
    first build never sees."""
    from django.db import connection

    from dashboard.statistics.models import Activity, Bucket, CountedTask

    tables = [model._meta.db_table for model in (Bucket, CountedTask, Activity)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(table) for table in tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def build():
    from dashboard.models import Bucket
    from dashboard.statistics import rebuild
    from dashboard.statistics.models import Granularity

    print("\n2. statistics built from scratch (rebuild.rebuild)")
    _empty_statistics()
    fingerprint_failures()
    days = []
    start = time.perf_counter()
    built = rebuild.rebuild(progress=lambda done: days.append(done) or print(
        f"\r  {done:,} rows, {len(days)} days, {time.perf_counter() - start:.1f} s", end="", flush=True))
    elapsed = time.perf_counter() - start
    buckets = ", ".join(
        f"{Bucket.objects.filter(granularity=g).count():,} {label}" for g, label in Granularity.choices
    )
    print(f"\n  {built:,} rows counted in {elapsed:.1f} s: {built / elapsed:,.0f} rows/s"
          f" (goal >= 100,000 rows/s); buckets: {buckets}")


def fingerprint_failures():
    """Every FAILURE row fingerprinted (``failures.fingerprint_missing``), as a first rebuild does once: failures/s.

    The rebuild timed after it reuses these fingerprints (a row's depends on
    the row alone), as every later rebuild does.
    """
    from django.db import transaction
    from django.utils import timezone

    from dashboard.models import Failure, FailureGroup
    from dashboard.statistics import failures, rollup
    from results.models import TaskResult

    Failure.objects.all().delete()
    FailureGroup.objects.all().delete()
    failed = TaskResult.objects.filter(status="FAILURE", date_done__lte=timezone.now())
    start = time.perf_counter()
    with transaction.atomic():
        done = failures.fingerprint_missing(failed, rollup.database(), progress=lambda n: print(
            f"\r  fingerprinted {n:,} failures, {time.perf_counter() - start:.1f} s", end="", flush=True))
    elapsed = time.perf_counter() - start
    print(f"\n  {done:,} failures fingerprinted in {elapsed:.1f} s: {done / elapsed:,.0f} failures/s,"
          f" {FailureGroup.objects.count():,} causes")


def rows_arriving(count):
    """``count`` new results, as they arrive between two passes: after the watermark, older than the lag.

    Returns ``(since, moment)``: they are stored after ``since``, and the
    next pass is to run at ``moment`` (``run_pass(now=moment)``).
    """
    from django.utils import timezone

    from dashboard.statistics import rollup

    done_until = rollup.rollup_state().done_until or timezone.now()
    moment = max(timezone.now(), done_until + timedelta(seconds=20))
    since = max(done_until, moment - timedelta(seconds=60)) + timedelta(milliseconds=1)
    fresh_rows(count, since, moment - timedelta(seconds=6), f"fresh-{moment.timestamp():.6f}-")
    return since, moment


def incremental_passes():
    from dashboard.statistics import rollup

    print("\n3. an incremental pass over 1,000 new rows (rollup.run_pass)")
    timings = []
    for _attempt in range(5):
        _since, moment = rows_arriving(1000)
        start = time.perf_counter()
        result = rollup.run_pass(now=moment)
        timings.append((time.perf_counter() - start) * 1000)
        print(f"  pass {len(timings)}: {result.rows:,} rows read, {result.counted:,} counted in {timings[-1]:.1f} ms")
    print(f"  median {statistics.median(timings):.1f} ms (goal <= 100 ms)")
    return moment


if __name__ == "__main__":
    main()
