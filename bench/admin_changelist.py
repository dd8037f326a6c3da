"""Benchmark: the results admin's task changelist against a reference-style admin.

The baseline is a ``ModelAdmin`` configured as django-celery-results
configures its own (Django's paginator with full counts, DISTINCT filter
choices, Django's date hierarchy, ``icontains`` search over the text
columns), rendered in the same process, on the same table, in the same run;
the figures to read are the ratios.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_admin \\
        .venv/bin/python bench/admin_changelist.py --rows 1000000

The database is created when missing, migrated and seeded with the demo's
realistic rows up to ``--rows`` (reused by later runs). Prints, per
scenario, the number of queries and the median time of each admin, and the
query plan of our page query.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_admin")


def ensure_database(url):
    """Create the PostgreSQL database named by ``url`` if it does not exist."""
    import dj_database_url

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg

    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True
    ) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{config["NAME"]}"')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="task results in the table")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per scenario (median shown)")
    options = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import RequestFactory, override_settings

    from demo.seed import seed_tasks
    from results.admin import TaskResultAdmin
    from results.models import TaskResult

    call_command("migrate", verbosity=0)
    have = TaskResult.objects.count()
    if have < options.rows:
        print(f"seeding {options.rows - have:,} task results...", flush=True)
        seed_tasks(options.rows - have, days=400)
    total = TaskResult.objects.count()
    print(f"{connection.vendor}: {total:,} task results\n")

    class ReferenceStyleAdmin(admin.ModelAdmin):
        """Configured as the reference's TaskResultAdmin, on Django's defaults."""

        change_list_template = "admin/change_list.html"
        date_hierarchy = "date_done"
        list_display = ("task_id", "periodic_task_name", "task_name", "date_done", "status", "worker")
        list_filter = ("status", "date_done", "periodic_task_name", "task_name", "worker")
        search_fields = ("task_name", "task_id", "status", "task_args", "task_kwargs")

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    recent = TaskResult.objects.order_by("-date_done").values_list("task_id", "date_done")[5000]
    task_id, when = recent
    scenarios = {
        "first page": {},
        "status=FAILURE": {"status": "FAILURE"},
        "search task id": {"q": task_id},
        f"page {min(5000, total // 200)}": {"p": str(min(5000, total // 200) - 1)},
        f"drill {when.year}-{when.month:02}": {"date_done__year": str(when.year), "date_done__month": str(when.month)},
    }
    admins = {
        "reference-style": ReferenceStyleAdmin(TaskResult, admin.site),
        "results": TaskResultAdmin(TaskResult, admin.site),
    }
    factory = RequestFactory()

    def run(model_admin, params):
        request = factory.get("/admin/results/taskresult/", params)
        request.user = user
        request.session = {}
        started = time.perf_counter()
        response = model_admin.changelist_view(request)
        response.render()
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (response.status_code, params)
        return elapsed

    print(f"{'scenario':<22}{'admin':<17}{'queries':>8}{'median ms':>11}")
    with override_settings(DEBUG=True):
        for label, params in scenarios.items():
            figures = {}
            for name, model_admin in admins.items():
                run(model_admin, params)  # warm caches
                reset_queries()
                run(model_admin, params)
                queries = len(connection.queries)
                times = [run(model_admin, params) for _ in range(options.repeat)]
                figures[name] = statistics.median(times) * 1000
                print(f"{label:<22}{name:<17}{queries:>8}{figures[name]:>11.1f}")
            ratio = figures["reference-style"] / figures["results"]
            print(f"{'':<22}{'speed-up':<17}{'':>8}{ratio:>10.1f}x", flush=True)

    print("\nplan of the first page's query:")
    ours = admins["results"]
    page = TaskResult.objects.defer(*ours.list_deferred_fields).order_by("-date_done", "-pk")[:100]
    print(page.explain())


if __name__ == "__main__":
    main()
