"""Benchmark: the dashboard's pages at a million task results.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/dashboard.py [--rows N]

Seeds the database named by ``DATABASE_URL`` (or ``--database-url``) up to
``--rows`` task results (default 1,000,000 on PostgreSQL, 100,000
elsewhere), reusing rows already there, then measures in-process (Django's
test client, logged in, DEBUG off) the server-side time of the dashboard's
pages: the task list unfiltered, by status, by worker, by status and
worker, by task id prefix, a page half a million rows deep (cursor), a
page sorted by task name (offset pages), one task's detail page, a
group's page, the overview and the counts that load after the pages. Next to
each page it prints, from the same run, the time of the page's main query
alone and of all the SQL the page runs, executed bare through the database
cursor, and the ratio page / main query. With ``--plans`` (default on
PostgreSQL) it prints the ``EXPLAIN ANALYZE`` plan of each main query.

Seeding reuses the demo's realistic generator (``demo.seed.seed_tasks``)
for up to 100,000 rows; on PostgreSQL the rest are copies of those rows
made by one ``INSERT ... SELECT ... generate_series`` (new ids, dates moved
back by whole multiples of the seeded span), which takes seconds, not
minutes.
"""
import argparse
import os
import random
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REALISTIC_ROWS = 100_000
SEED_DAYS = 7


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=None, help="task rows to have (default 1,000,000 on PostgreSQL)")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--plans", action=argparse.BooleanOptionalAction, default=None)
    return parser.parse_args()


def setup_django(database_url):
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(function, repeat, warmup):
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


# --- seeding -----------------------------------------------------------------


def seed(rows):
    from django.db import connection

    from demo.seed import analyze_tables, seed_tasks
    from results.models import GroupResult, TaskResult

    have = TaskResult.objects.count()  # once, at set-up: the bench's own bookkeeping
    if have >= rows:
        print(f"seed: {have:,} task rows already there (wanted {rows:,})")
        return have
    start = time.perf_counter()
    realistic = min(rows, REALISTIC_ROWS) - have if connection.vendor == "postgresql" else rows - have
    if realistic > 0:
        seed_tasks(realistic, rng=random.Random(have or 1), days=SEED_DAYS, progress=_progress("realistic rows"))
        have += realistic
        print()
    if have < rows and connection.vendor == "postgresql":
        _multiply_on_postgresql(rows - have)
    analyze_tables(connection.alias, TaskResult, GroupResult)
    total = TaskResult.objects.count()
    print(f"seed: {total:,} task rows in {time.perf_counter() - start:.1f} s")
    return total


def _progress(label):
    def report(written, count):
        if written == count or written % 20_000 < 2_000:
            print(f"\rseed: {written:,}/{count:,} {label}", end="", flush=True)

    return report


def _multiply_on_postgresql(missing):
    """Copy the seeded rows, shifted back in time, until ``missing`` more exist: one statement."""
    from django.db import connection, transaction

    from results.models import TaskResult

    table = TaskResult._meta.db_table
    columns = [f.column for f in TaskResult._meta.concrete_fields if f.column not in ("id", "task_id")]
    shifted = {
        "date_created": "date_created - g * span",
        "date_started": "date_started - g * span",
        "date_done": "date_done - g * span",
    }
    select = ", ".join(shifted.get(column, column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(date_done) - min(date_done) + interval '1 second' FROM {table}")
        base, span = cursor.fetchone()
        copies = -(-missing // base)
        print(f"seed: copying {base:,} rows {copies} times with INSERT ... SELECT generate_series", flush=True)
        with transaction.atomic():
            cursor.execute(
                f"INSERT INTO {table} (task_id, {', '.join(columns)})"
                f" SELECT gen_random_uuid()::text, {select}"
                f" FROM (SELECT * FROM {table} ORDER BY id LIMIT %s) AS base,"
                f" generate_series(1, %s) AS g, (SELECT %s::interval AS span) AS s"
                f" LIMIT %s",
                [base, copies, span, missing],
            )


# --- measuring ---------------------------------------------------------------


def main():
    args = parse_args()
    setup_django(args.database_url)

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    vendor = connection.vendor
    rows = args.rows or (1_000_000 if vendor == "postgresql" else 100_000)
    plans = args.plans if args.plans is not None else vendor == "postgresql"
    print(f"database: {vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    total = seed(rows)

    with override_settings(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        cases = build_cases()
        client = Client()
        client.force_login(bench_user())
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\n{total:,} task rows; {args.requests} timed requests per page after {args.warmup} warm-up;"
              f" load average {load} on {os.cpu_count()} CPUs\n")
        header = (
            f"{'page':<24} {'p50 ms':>7} {'p95 ms':>7} {'main SQL':>9} {'all SQL':>8} {'queries':>7}"
            f" {'page/main':>9} {'page/all':>8}  url"
        )
        print(header)
        print("-" * len(header))
        results = []
        for name, url, main_query in cases:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")
            page = timed(partial(client.get, url), args.requests, args.warmup)
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            all_sql = timed(lambda: replay(captured.captured_queries), args.requests, args.warmup)
            main_sql = timed(partial(run_query, main_query), args.requests, args.warmup)
            p50, p95 = statistics.median(page), percentile(page, 0.95)
            main50, all50 = statistics.median(main_sql), statistics.median(all_sql)
            results.append((name, p50))
            print(
                f"{name:<24} {p50:7.2f} {p95:7.2f} {main50:9.2f} {all50:8.2f} {len(captured.captured_queries):7d}"
                f" {p50 / main50:8.1f}x {p50 / all50:7.1f}x  {url[:70]}"
            )
        worst = max(p50 for _, p50 in results)
        print(f"\nslowest p50: {worst:.2f} ms (target: <= 25 ms at 1M rows on PostgreSQL)")
        if plans and vendor == "postgresql":
            print_plans(cases)


def bench_user():
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench-viewer", defaults={"is_superuser": True, "is_staff": True})
    return user


def build_cases():
    """``(name, url, main queryset)`` for each page measured."""
    from django.http import QueryDict
    from django.urls import reverse

    from dashboard import selectors
    from dashboard.conf import dashboard_setting
    from dashboard.filters import TaskFilter
    from dashboard.pagination import Cursor, KeysetPaginator
    from results.counting import estimated_table_rows
    from results.models import GroupResult, TaskResult

    per_page, limit = dashboard_setting("PER_PAGE"), dashboard_setting("COUNT_LIMIT")
    base = reverse("dashboard:tasks")
    group = GroupResult.objects.order_by("-date_done").first()
    worker = TaskResult.objects.order_by("-date_done").values_list("worker", flat=True).exclude(worker=None)[0]
    failed = TaskResult.objects.filter(status="FAILURE").order_by("-date_done").first()
    prefix = failed.task_id[:3]  # matches about 1 row in 4,000: a full page of them
    # A position half-way down the newest-first list: found once, by offset.
    total = estimated_table_rows(TaskResult, "default")
    deep_row = TaskResult.objects.order_by("-date_done", "-id").only("id", "date_done")[total // 2]
    deep_cursor = Cursor.at("after", deep_row)

    def keyset(query, cursor=None):
        filterset = TaskFilter(QueryDict(query), queryset=selectors.task_rows())
        assert filterset.is_valid(), filterset.errors
        return KeysetPaginator(filterset.qs, per_page).query(cursor)

    sorted_qs = TaskFilter(QueryDict(""), queryset=selectors.task_rows()).qs.order_by("task_name", "date_done", "id")
    page_50 = sorted_qs[49 * per_page : 50 * per_page + 1]
    return [
        ("list unfiltered", base, keyset("")),
        ("list status", f"{base}?status=FAILURE", keyset("status=FAILURE")),
        ("list worker", f"{base}?worker={worker}", keyset(f"worker={worker}")),
        ("list status+worker", f"{base}?status=FAILURE&worker={worker}", keyset(f"status=FAILURE&worker={worker}")),
        ("list task id prefix", f"{base}?q={prefix}", keyset(f"q={prefix}")),
        ("list deep (cursor)", f"{base}?cursor={deep_cursor.encode()}", keyset("", deep_cursor)),
        ("list sorted p.50", f"{base}?sort=task_name&page=50", page_50),
        (
            "task detail",
            reverse("dashboard:task", args=[failed.task_id]),
            TaskResult.objects.filter(task_id=failed.task_id),
        ),
        # What loads after the pages: bounded counts.
        ("count status (after)", f"{reverse('dashboard:task-count')}?status=FAILURE",
         TaskResult.objects.filter(status="FAILURE").order_by().values("pk")[: limit + 1]),
        ("overview", reverse("dashboard:overview"),
         TaskResult.objects.filter(status="FAILURE").order_by("-date_done", "-id")[:10]),
        ("group detail", reverse("dashboard:group", args=[group.group_id]),
         GroupResult.objects.filter(group_id=group.group_id)),
    ]


def run_query(queryset):
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()


def replay(queries):
    """Run captured SQL again, bare (the captured text has its parameters inlined)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if sql.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                continue
            cursor.execute(sql.replace("%", "%%"))
            if cursor.description:
                cursor.fetchall()


def print_plans(cases):
    from django.db import connection

    print("\nPostgreSQL plans of the main queries (EXPLAIN ANALYZE, BUFFERS):")
    for name, url, queryset in cases:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            plan = "\n".join("    " + row[0] for row in cursor.fetchall())
        print(f"\n-- {name}: {url[:90]}\n{plan}")


if __name__ == "__main__":
    main()
