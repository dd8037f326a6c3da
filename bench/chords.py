"""Benchmark: 1,000-part chords under 8 worker processes, 20 times: each body runs exactly once, no counter left.

Starts a real ``celery worker`` (prefork, ``--concurrency 8``, ``bench/chord_app.py``) on RabbitMQ (a queue of
the run's own), results through the database backend into a database of the benchmark's own (``test_<name>``
on the server ``--database-url`` names, created and dropped here), then sends the chords one after the other.
Prints, per chord, the seconds from sending to the body's result, the body's runs and the counters left, then
the totals. Exits non-zero when a body did not run exactly once or a counter was left.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def database_url(settings_dict, vendor):
    scheme = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite"}[vendor]
    if scheme == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"{scheme}://{settings_dict['USER']}{password}@{settings_dict['HOST']}{port}/{settings_dict['NAME']}"


def wait_until(predicate, timeout, poll=0.05):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_chords")
    parser.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--parts", type=int, default=1_000)
    parser.add_argument("--chords", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600, help="seconds one chord may take")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()
    from celery import chord
    from django.db import connection

    from demo.processes import ProcessGroup
    from results.models import ChordCounter, TaskResult

    queue = f"bench-chords-{uuid.uuid4().hex[:12]}"
    os.environ.update(BENCH_BROKER_URL=args.broker_url, BENCH_QUEUE=queue)
    from bench.chord_app import app, body, part

    server_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-chords-"))
    folder.chmod(0o777)
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict, connection.vendor),
           "PYTHONUNBUFFERED": "1"}
    worker = ProcessGroup(
        "worker",
        [sys.executable, "-m", "celery", "-A", "bench.chord_app:app", "worker", "--pool", "prefork",
         "--concurrency", str(args.concurrency), "--queues", queue, "--hostname", f"{queue}@%h",
         "--loglevel", "INFO", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        log_path=folder / "worker.log", cwd=ROOT, env=env, signal_group=True,
    )
    failures = 0
    try:
        worker.start()
        worker.wait_for_log(b" ready.", 60)
        print(f"{args.chords} chords of {args.parts:,} parts, {args.concurrency} worker processes, "
              f"{connection.vendor} ({connection.settings_dict['NAME']}), broker {args.broker_url.split('@')[-1]}",
              flush=True)
        seconds = []
        for number in range(1, args.chords + 1):
            log = folder / f"body-{number}.log"
            start = time.perf_counter()
            result = chord(part.s(index) for index in range(args.parts))(body.s(str(log)))
            size = result.get(timeout=args.timeout)
            elapsed = time.perf_counter() - start
            seconds.append(elapsed)
            wait_until(lambda: not ChordCounter.objects.exists(), 10)
            time.sleep(0.2)  # a second run of the body would show now
            runs = len(log.read_text().splitlines()) if log.exists() else 0
            left = ChordCounter.objects.count()
            ok = size == args.parts and runs == 1 and left == 0
            failures += not ok
            print(f"chord {number:>2}: {elapsed:6.2f} s, {args.parts / elapsed:6.0f} parts/s, body runs {runs}, "
                  f"counters left {left}{'' if ok else '  <-- WRONG'}", flush=True)
        time.sleep(1)
        total_runs = sum(len(p.read_text().splitlines()) for p in folder.glob("body-*.log"))
        print(f"time per chord: mean {statistics.mean(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
              f"min {min(seconds):.2f} s, max {max(seconds):.2f} s", flush=True)
        print(f"body runs: {total_runs} for {args.chords} chords; counters left: {ChordCounter.objects.count()}; "
              f"task results: {TaskResult.objects.count():,} (expected {args.chords * (args.parts + 1):,})",
              flush=True)
        failures += total_runs != args.chords
    finally:
        worker.stop(10)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        connection.creation.destroy_test_db(server_name, verbosity=0)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
