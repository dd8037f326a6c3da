"""Benchmark: exporting the task list (CSV and JSON lines): rows/s and peak memory, at 1M rows on PostgreSQL.

Uses a database ``bench/insights.py`` has seeded (``--rows``; it seeds one when there are fewer rows), streams
``/dashboard/tasks/export/`` through Django's test client with ``EXPORT_LIMIT`` raised to the table's size, and
prints each format's rows/s and how much the process's peak resident memory grew while it ran (a stream that
held its rows would grow with them; the goal is flat).
"""
import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import insights  # noqa: E402  (seeding and the database set-up of the insights benchmark)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/dash_bench1m")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=None, help="rows exported (default: all of them)")
    args = parser.parse_args()
    insights.setup_django(args.database_url)

    from datetime import UTC, datetime

    from django.core.management import call_command
    from django.test import override_settings

    from results.models import TaskResult

    call_command("migrate", verbosity=0)
    have = TaskResult.objects.count()
    if have < args.rows:
        insights.seed(args.rows, 30, datetime.now(UTC).replace(microsecond=0))
        have = TaskResult.objects.count()
    print(f"{have:,} task results", flush=True)
    client = insights.superuser_client()
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["*"], DASHBOARD={"EXPORT_LIMIT": args.limit or have}):
        for chosen in ("csv", "jsonl"):
            before = peak_rss_mb()
            start = time.perf_counter()
            response = client.get("/dashboard/export/tasks/", {"format": chosen})
            size = parts = 0
            for part in response.streaming_content:  # one part per row (and the CSV's header)
                size += len(part)
                parts += 1
            elapsed = time.perf_counter() - start
            rows = parts - (1 if chosen == "csv" else 0)
            print(f"{chosen:<5}: {rows:,} rows, {size / 1e6:,.0f} MB in {elapsed:.1f} s: {rows / elapsed:,.0f} rows/s;"
                  f" peak memory {before:,.0f} MB before, {peak_rss_mb():,.0f} MB after", flush=True)


if __name__ == "__main__":
    main()
