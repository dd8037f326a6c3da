"""Benchmark: the dashboard under load: gunicorn on PostgreSQL at 1M rows while Celery workers store results.

    .venv/bin/python bench/load.py [--database-url URL] [--rows 1000000] [--clients 50] [--seconds 60]
                                   [--workers 4] [--store-rate 200] [--think 0] [--reuse]

1. Seeds ``--rows`` task results server-side (``bench/insights.py``'s
   ``INSERT ... SELECT generate_series``, 30 days, indexes built after),
   unless ``--reuse`` finds at least that many; then brings the statistics
   up to date (``rollup --rebuild`` after a seed, ``rollup`` otherwise) so
   the overview reads real figures.
2. Starts, each as a process group of its own: gunicorn (``--workers``
   sync workers on a free loopback port, DEBUG off, static files
   collected, an access log with each request's server time); a Celery
   worker (prefork, ``--celery-concurrency``) on RabbitMQ storing results
   through the database backend; a producer sending ``--store-rate`` quick
   tasks a second (one in ten fails); and a loop running ``manage.py
   rollup`` every ``--rollup-every`` seconds, as beat would in production.
3. From a second process (``bench/load_clients.py``), ``--clients``
   threads, each logged in once through ``/accounts/login/``, run three
   phases against the same server with the same background load: a static
   file (WhiteNoise, no database: the machine and the client), ``/healthz``
   (a Django view, a ``SELECT 1`` and a broker connection), the dashboard
   with one client, back to back (each page's time with no queue), each for
   ``--baseline-seconds``, then ``--seconds`` of the dashboard: the task
   list, a filtered list (``status=FAILURE`` and a worker), a task page
   (random real ids), the overview, whole or as htmx polls, with the
   requests the pages send once loaded.
4. Prints per kind and overall: requests, requests/s, p50/p95/p99 latency
   (the client's), gunicorn's own p50/p95 for the same requests, errors
   with examples; the ratio to the baselines; the store rate achieved; and
   where the CPUs went.

Bounded: every wait has a timeout, the clients and the producer stop by
themselves, and every process started here is stopped on the way out,
Ctrl-C and errors included. ``--think`` seconds between a client's
requests (exponential, mean) makes it an open-ish load instead of a closed
loop; with none, each client sends its next request as soon as it has an
answer, so latency is what 50 clients queueing for 4 workers on 2 CPUs
wait (Little's law: latency = clients / throughput).
"""
import argparse
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import insights  # noqa: E402  (seeding and the database set-up of the insights benchmark)
import load_clients  # noqa: E402
import load_report  # noqa: E402
from load_cpu import CpuSampler  # noqa: E402

from demo.processes import ProcessFailed, ProcessGroup, stop_all  # noqa: E402

USERNAME = "bench-load"
TASK_IDS = 2_000  # random real ids the task pages ask for
STARTUP_TIMEOUT = 60


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/h_load_bench")
    parser.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="the dashboard phase")
    parser.add_argument("--baseline-seconds", type=float, default=15, help="each baseline phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (>1: gthread)")
    parser.add_argument("--store-rate", type=float, default=200, help="tasks sent per second during the run")
    parser.add_argument("--celery-concurrency", type=int, default=4)
    parser.add_argument("--rollup-every", type=float, default=10, help="seconds between statistics passes")
    parser.add_argument("--think", type=float, default=0, help="mean seconds between a client's requests")
    parser.add_argument("--timeout", type=float, default=10, help="seconds a request may take")
    parser.add_argument("--reuse", action="store_true", help="skip seeding when at least --rows rows are there")
    parser.add_argument("--var-dir", default=os.environ.get("VAR_DIR", "/tmp/h_load"))
    return parser.parse_args()


def other_benches():
    """Command lines of other bench scripts running now: figures taken meanwhile are distorted."""
    done = subprocess.run(["pgrep", "-af", "bench/"], capture_output=True, text=True)
    mine = {str(os.getpid()), str(os.getppid())}
    return [line for line in done.stdout.splitlines()
            if line.split()[0] not in mine and "bench/load" not in line and "pgrep" not in line]


def prepare_database(args):
    """Seed (or reuse) the rows, bring the statistics up to date; ``(rows, the database's start time)``."""
    from django.core.management import call_command
    from django.db import connection

    from results.models import TaskResult

    call_command("migrate", verbosity=0)
    have = TaskResult.objects.count()
    if args.reuse and have >= args.rows:
        print(f"database: {have:,} task results reused", flush=True)
        insights.ensure_indexes()
        start = time.perf_counter()
        call_command("rollup", verbosity=0, stdout=io.StringIO())
        print(f"  statistics caught up in {time.perf_counter() - start:.1f} s", flush=True)
    else:
        print(f"database: seeding {args.rows:,} task results server-side", flush=True)
        insights.seed(args.rows, 30, datetime.now(UTC).replace(microsecond=0))
        start = time.perf_counter()
        call_command("rollup", rebuild=True, verbosity=0, stdout=io.StringIO())
        print(f"  statistics built in {time.perf_counter() - start:.1f} s", flush=True)
        have = TaskResult.objects.count()
    vacuum()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        started = cursor.fetchone()[0]
    return have, started


def vacuum():
    """``VACUUM (ANALYZE)`` of the results: the state autovacuum keeps a live table in.

    A freshly seeded table has no visibility map yet, so every index-only
    scan (a bounded count's) visits the heap: 51 ms instead of 3.5 ms for a
    filtered list's count at 1M rows. A table that has been taking results
    for weeks has been vacuumed by autovacuum (PostgreSQL 13+ vacuums on
    inserts too); the bench measures that, not the seeding's leftover.
    """
    from django.db import connection

    from results.models import TaskResult

    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {TaskResult._meta.db_table}")
    print(f"  results vacuumed in {time.perf_counter() - start:.1f} s", flush=True)


def postgres_started():
    from django.db import connection

    connection.close()  # a restart meanwhile leaves the old connection broken
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        return cursor.fetchone()[0]


def viewer(password):
    """The clients' user: may view results, nothing more (a superuser would skip the permission lookups)."""
    from django.contrib.auth.models import Permission, User

    user, _created = User.objects.get_or_create(username=USERNAME)
    user.is_superuser = user.is_staff = False
    user.set_password(password)
    user.save()
    user.user_permissions.set([Permission.objects.get(codename="view_taskresult", content_type__app_label="results")])
    return user


def sample_task_ids(count):
    """``count`` random real task ids (a block sample of the table: cheap at any size)."""
    from django.db import connection

    from results.models import TaskResult

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT task_id FROM {TaskResult._meta.db_table} TABLESAMPLE SYSTEM (2) LIMIT %s", [count])
        ids = [row[0] for row in cursor.fetchall()]
    return ids or list(TaskResult.objects.values_list("task_id", flat=True)[:count])


def seeded_workers():
    from dashboard import selectors

    return [worker for worker in selectors.distinct_values("worker") if worker.startswith("celery@worker-")]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url, server, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise ProcessFailed(f"{server.name} exited:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise ProcessFailed(f"{server.name} not answering after {timeout} s:\n{server.log_tail()}")


def server_env(args, database_url):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_", "CACHE_"))}
    return {**clean, "DJANGO_SETTINGS_MODULE": "dashboard_project.settings", "VAR_DIR": args.var_dir,
            "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1", "CELERY_BROKER_URL": args.broker_url, "PYTHONUNBUFFERED": "1"}


def processes(args, env, folder, port, queue, hostname, producer_seconds):
    """The process groups of the run: gunicorn, the Celery worker, the statistics loop, the producer."""
    worker_class = ["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads > 1 else []
    gunicorn = ProcessGroup("gunicorn", [
        sys.executable, "-m", "gunicorn", "dashboard_project.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), *worker_class, "--access-logfile", str(folder / "access.log"),
        "--access-logformat", load_report.ACCESS_LOG_FORMAT, "--timeout", "60",
    ], log_path=folder / "gunicorn.log", cwd=ROOT, env=env)
    celery_env = {**env, "BENCH_BROKER_URL": args.broker_url, "BENCH_QUEUE": queue}
    worker = ProcessGroup("celery worker", [
        sys.executable, "-m", "celery", "-A", "bench.load_app:app", "worker", "--pool", "prefork",
        "--concurrency", str(args.celery_concurrency), "--queues", queue, "--hostname", hostname,
        "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip",
    ], log_path=folder / "worker.log", cwd=ROOT, env=celery_env, signal_group=True)
    rollup = ProcessGroup("rollup loop", [
        "bash", "-c", f'while :; do "{sys.executable}" manage.py rollup --verbosity 0 >/dev/null; '
                      f"sleep {args.rollup_every}; done",
    ], log_path=folder / "rollup.log", cwd=ROOT, env=env, signal_group=True)
    producer = ProcessGroup("producer", [
        sys.executable, "bench/load_producer.py", "--rate", str(args.store_rate), "--seconds", str(producer_seconds),
    ], log_path=folder / "producer.log", cwd=ROOT, env=celery_env)
    return gunicorn, worker, rollup, producer


def stored_between(start, end, name="bench.load.quick"):
    """Results of the load's tasks done between two wall times (any state, STARTED excepted)."""
    from django.db import connection

    from results.models import TaskResult

    connection.close()  # a database restarted meanwhile left the old connection broken
    begin, finish = (datetime.fromtimestamp(moment, UTC) for moment in (start, end))
    return TaskResult.objects.filter(task_name=name, date_done__gte=begin, date_done__lt=finish).exclude(
        status="STARTED").count()


def main():
    args = parse_args()
    others = other_benches()
    if others:
        print("WARNING: other benches are running, figures will be distorted:\n  " + "\n  ".join(others), flush=True)
    os.environ["VAR_DIR"] = args.var_dir
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    insights.setup_django(args.database_url)
    from django.db import connection

    rows, pg_started = prepare_database(args)
    password = secrets.token_urlsafe(16)
    viewer(password)
    task_ids = sample_task_ids(TASK_IDS)
    queue = f"bench-load-{uuid.uuid4().hex[:10]}"
    os.environ.update(BENCH_BROKER_URL=args.broker_url, BENCH_QUEUE=queue)  # read by bench.load_app here too
    hostname = f"{queue}@{socket.gethostname()}"
    workers = seeded_workers()[:4] + [hostname]
    folder = Path(args.var_dir) / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True)
    env = server_env(args, args.database_url)
    done = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"collectstatic failed:\n{done.stderr}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    phases = [{"name": "static", "mix": "static", "seconds": args.baseline_seconds},
              {"name": "healthz", "mix": "healthz", "seconds": args.baseline_seconds},
              {"name": "dashboard, one client", "mix": "dashboard", "seconds": args.baseline_seconds, "clients": 1,
               "think": 0},  # back to back: each page's own time, as many samples as the phase allows
              {"name": "dashboard", "mix": "dashboard", "seconds": args.seconds}]
    plan = {"base": base, "username": USERNAME, "password": password, "clients": args.clients, "phases": phases,
            "task_ids": task_ids, "workers": workers, "think": args.think, "timeout": args.timeout}
    plan_path, results_path = folder / "plan.json", folder / "results.json"
    plan_path.write_text(json.dumps(plan))
    plan_path.chmod(0o600)
    clients_bound = load_clients.LOGINS_DEADLINE + sum(phase["seconds"] for phase in phases) + 12 * args.timeout
    gunicorn, worker, rollup, producer = processes(args, env, folder, port, queue, hostname, clients_bound + 60)
    clients = ProcessGroup("clients", [sys.executable, "bench/load_clients.py", str(plan_path), str(results_path)],
                           log_path=folder / "clients.log", cwd=ROOT, env=env)
    groups = [clients, producer, rollup, worker, gunicorn]
    sampler = CpuSampler({"gunicorn": gunicorn.members, "celery worker": worker.members, "clients": clients.members,
                          "producer": producer.members, "rollup loop": rollup.members})

    def stop_on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        gunicorn.start()
        worker.start()
        wait_for_http(base + "/healthz", gunicorn, STARTUP_TIMEOUT)
        wait_until_storing(worker)
        rollup.start()
        producer.start()
        producer.wait_for_log(b"producer: sending", STARTUP_TIMEOUT)
        sampler.start()
        time.sleep(5)  # the store rate settles before the clients come
        threads = f", {args.threads} threads each" if args.threads > 1 else ""
        print(f"gunicorn: {args.workers} workers{threads} on {base}; celery: 1 worker, prefork "
              f"{args.celery_concurrency}, RabbitMQ; producer: {args.store_rate:g} tasks/s; "
              f"rollup every {args.rollup_every:g} s", flush=True)
        print(f"clients: {args.clients} threads in a second process, "
              f"{'closed loop (no think time)' if not args.think else f'{args.think:g} s think time (mean)'}; "
              f"logs in {folder}", flush=True)
        clients.start()
        deadline = time.monotonic() + clients_bound
        while clients.running() and time.monotonic() < deadline:
            time.sleep(0.5)
        if clients.running():
            raise ProcessFailed(f"clients still running after {clients_bound:.0f} s:\n{clients.log_tail()}")
        if clients.process.returncode:
            raise ProcessFailed(f"clients exited with {clients.process.returncode}:\n{clients.log_tail()}")
        sampler.stop()
        results = json.loads(results_path.read_text())
        time.sleep(2)  # the last results commit
        report(args, rows, results, folder, sampler)
        restarted = postgres_started() != pg_started
        if restarted:
            print("WARNING: PostgreSQL restarted during the run (another bench?): run it again.")
    finally:
        sampler.stop()
        stop_all(groups, 15)
        try:
            from bench.load_app import app

            with app.connection_for_write() as broker:
                broker.default_channel.queue_delete(queue)
        except Exception as error:  # noqa: BLE001  (a leftover queue is reported, not fatal)
            print(f"could not delete queue {queue}: {error}")
        connection.close()
    others = other_benches()
    if others:
        print("WARNING: other benches ran meanwhile:\n  " + "\n  ".join(others))


def wait_until_storing(worker, timeout=STARTUP_TIMEOUT):
    """One task sent and its result read back from the database: broker, worker and backend all work."""
    from bench.load_app import quick

    result = quick.delay(1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.running():
            raise ProcessFailed(f"celery worker exited:\n{worker.log_tail()}")
        if result.ready():
            return
        time.sleep(0.2)
    raise ProcessFailed(f"no result stored after {timeout} s:\n{worker.log_tail()}")


def report(args, rows, results, folder, sampler):
    access = (folder / "access.log").read_text(errors="replace")
    server = load_report.server_times(access)
    print(f"\n{rows:,} task results on PostgreSQL; {args.clients} clients logged in in "
          f"{results.get('login_seconds', 0):.1f} s" + (f"; {len(results['login_failures'])} log-ins FAILED"
                                                       if results["login_failures"] else ""))
    for failure in results["login_failures"][:3]:
        print(f"  {failure}")
    summaries = {}
    for phase in results["phases"]:
        seconds = phase["ended"] - phase["started"]
        print(f"\n{phase['name']} ({seconds:.1f} s)")
        print(load_report.HEADER)
        print("-" * len(load_report.HEADER))
        for line in load_report.phase_table(phase, server):
            print(line)
        print(f"  statuses: {load_report.status_counts(phase)}")
        for line in load_report.error_examples(phase):
            print(line)
        summaries[phase["name"]] = load_report.summary(phase)
        cpu = sampler.between(phase["started"], phase["ended"])
        if cpu:
            share, by_group, span = cpu
            spent = ", ".join(f"{name} {seconds / span:.2f}" for name, seconds in by_group.items())
            print(f"  CPU: machine {share:.0%} busy of {os.cpu_count()} CPUs; CPUs used: {spent}")
    dashboard, static, healthz = summaries["dashboard"], summaries["static"], summaries["healthz"]
    alone = summaries["dashboard, one client"]
    print(f"\nratios (dashboard / baseline): requests/s {dashboard[0] / static[0]:.2f}x the static file's, "
          f"{dashboard[0] / healthz[0]:.2f}x /healthz's; p50 {dashboard[1] / static[1]:.1f}x the static file's, "
          f"{dashboard[1] / healthz[1]:.1f}x /healthz's; p95 {dashboard[2] / static[2]:.1f}x, "
          f"{dashboard[2] / healthz[2]:.1f}x")
    print(f"{args.clients} clients / one client on the same pages: p50 {dashboard[1] / alone[1]:.1f}x "
          f"({dashboard[1]:.1f} / {alone[1]:.1f} ms), p95 {dashboard[2] / alone[2]:.1f}x "
          f"({dashboard[2]:.1f} / {alone[2]:.1f} ms)" + (
              f"; Little's law, clients / requests/s: {args.clients / dashboard[0] * 1000:.0f} ms a request on"
              " average in a closed loop" if not args.think else ""))
    phase = results["phases"][-1]
    stored = stored_between(phase["started"], phase["ended"])
    seconds = phase["ended"] - phase["started"]
    print(f"store rate during the dashboard phase: {stored:,} results stored, {stored / seconds:.0f}/s "
          f"({args.store_rate:g}/s sent; two writes each, STARTED then the outcome)")
    verdict = "met" if dashboard[3] == 0 and dashboard[2] <= 100 else "NOT met"
    print(f"goal (zero errors, p95 <= 100 ms): {verdict}: {dashboard[3]:,} errors, p95 {dashboard[2]:.1f} ms")


if __name__ == "__main__":
    main()
