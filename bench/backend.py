"""Throughput of the database result backend's writes, against the reference app's.

Run with ``make bench-backend`` (which builds ``.venv-bench``, the only
place django-celery-results is installed). For each reachable database
(SQLite, and PostgreSQL / MariaDB when they answer, at ``TEST_POSTGRES_URL``
/ ``TEST_MARIADB_URL``), a child process creates a database of its own
(``bench_<name>``), then stores task lifecycles the way a worker does:
``store_result`` for STARTED, then for SUCCESS, with ``result_extended``,
through ``results.backends.DatabaseBackend`` and through
``django_celery_results.backends.DatabaseBackend``, in alternating rounds.
It prints rows (tasks) per second and ``store_result`` calls per second of
each, best of the rounds, and their ratio; then ours again with every commit
synchronous (on PostgreSQL, STARTED and RETRY are normally committed
asynchronously: see ``results.managers.TRANSIENT_STATES``), with its ratio.
Figures only: nothing is asserted.
"""
import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS_PER_ROUND = int(os.environ.get("BENCH_TASKS", 2000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))


def measure(database):
    """Child process: time both backends on the database ``DATABASE_URL`` names."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from celery import Celery, states
    from celery.app.task import Context
    from django.db import connection
    from django_celery_results.backends import DatabaseBackend as ReferenceBackend
    from django_celery_results.models import TaskResult as ReferenceTaskResult

    from results import managers
    from results.backends import DatabaseBackend
    from results.models import TaskResult

    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        app = Celery("bench", set_as_current=False)
        app.conf.update(result_extended=True, task_track_started=True)
        ours, reference = DatabaseBackend(app=app), ReferenceBackend(app=app)
        variants = {
            "results": (ours, TaskResult, managers.TRANSIENT_STATES),
            # The same writes with every commit synchronous, to show what the
            # asynchronous commit of STARTED/RETRY (PostgreSQL only) adds.
            "results-sync": (ours, TaskResult, frozenset()),
            "reference": (reference, ReferenceTaskResult, managers.TRANSIENT_STATES),
        }
        best = dict.fromkeys(variants, 0.0)
        for _ in range(ROUNDS):
            for name, (backend, model, transient_states) in variants.items():
                managers.TRANSIENT_STATES = transient_states
                best[name] = max(best[name], run_round(backend, Context, states))
                model.objects.all().delete()
        managers.TRANSIENT_STATES = variants["results"][2]
        print(
            f"{database:<11} {best['results']:>9.0f} {best['results'] * 2:>9.0f}"
            f"   {best['reference']:>9.0f} {best['reference'] * 2:>9.0f}"
            f"   {best['results'] / best['reference']:>5.2f}x"
            f"   {best['results-sync']:>9.0f} {best['results-sync'] / best['reference']:>5.2f}x",
            flush=True,
        )
    finally:
        connection.creation.destroy_test_db(test_name, verbosity=0)


def run_round(backend, Context, states):
    """Tasks per second: each task stored as STARTED, then as SUCCESS."""
    requests = [
        Context(
            id=str(uuid.uuid4()), task="bench.tasks.process_order", args=[index, "eu-west"],
            kwargs={"priority": "high", "retry": False}, argsrepr=f"({index}, 'eu-west')",
            kwargsrepr="{'priority': 'high', 'retry': False}", hostname="celery@bench-worker",
            delivery_info={"routing_key": "celery"},
        )
        for index in range(TASKS_PER_ROUND)
    ]
    result = {"order": 1234, "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}], "total": 99.5}
    started = time.perf_counter()
    for request in requests:
        backend.store_result(request.id, {"pid": 4242, "hostname": request.hostname}, states.STARTED, request=request)
        backend.store_result(request.id, result, states.SUCCESS, request=request)
    return TASKS_PER_ROUND / (time.perf_counter() - started)


def main():
    import dj_database_url

    from tests.run_matrix import CANDIDATES, unreachable_reason

    print(
        f"store_result throughput, single process, {TASKS_PER_ROUND} tasks x 2 states "
        f"(STARTED, SUCCESS), best of {ROUNDS} rounds\n"
        f"{'database':<11} {'results':>9} {'':>9}   {'reference':>9} {'':>9}   {'ratio':>6}"
        f"   {'all-sync':>9} {'':>6}\n"
        f"{'':<11} {'rows/s':>9} {'calls/s':>9}   {'rows/s':>9} {'calls/s':>9}   {'':>6}"
        f"   {'rows/s':>9} {'ratio':>6}",
        flush=True,
    )
    failures = 0
    for name, url in CANDIDATES.items():
        reason = unreachable_reason(name, url)
        if reason:
            print(f"{name:<11} skipped: {reason}")
            continue
        if name == "sqlite":
            url = f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
            bench_name = str(ROOT / "var" / "bench-test.sqlite3")
        else:
            bench_name = f"bench_{dj_database_url.parse(url)['NAME']}"
        env = {**os.environ, "DATABASE_URL": url, "BENCH_DATABASE_NAME": bench_name}
        failures += subprocess.call([sys.executable, __file__, "--database", name], env=env, cwd=ROOT) != 0
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="(internal) measure on DATABASE_URL, labelled with this name")
    arguments = parser.parse_args()
    if arguments.database:
        measure(arguments.database)
    else:
        sys.exit(main())
