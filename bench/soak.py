"""Soak with faults: 100,000 mixed tasks on real workers; every result there exactly once, as Celery's client says.

The default run: two worker instances of two prefork processes each
(``tests.e2e.celery_app:soak_app``: ``acks_late``, reject on worker
lost, ``task_track_started``) on RabbitMQ, results through the database
backend into a PostgreSQL database of the run's own (``test_<name>`` on the
server ``--database-url`` names, created and dropped here). Instance A
reaches RabbitMQ through a TCP proxy of this process
(``tests.e2e.faults.BrokerProxy``). The mix (``tests.e2e.soak``): quick
successes, failures, retries, a few slow tasks, groups of 10, chords of 9
parts. During the run, each once the given share of the tasks has finished:
PostgreSQL is restarted, instance B is killed with SIGKILL and started again,
and instance A's broker connections are cut for ``--cut-seconds`` and
restored.

``--embedded``: the project's embedded default instead, SQLite (WAL, busy
timeout) and the filesystem broker, one instance of two processes, no
faults, and the dashboard's pages polled by another process
(``tests.e2e.dashboard_poller``) all along: no "database is locked" may
reach a worker's log or a page. Writes that waited (took longer than
``--slow-write`` seconds: the backend's ``SLOW_WRITE_SECONDS`` warning) are
counted, with the longest.

Prints tasks/s overall and around each fault, the time to recover, the
backend's retries and requeues (its own log lines), then the verification:
for every task id sent (group members, chord parts and bodies too) exactly
one row, in the state expected and the state ``AsyncResult(id).state``
reports, none unfinished, each chord body published once (its runs logged,
redeliveries apart), no chord counter left. Exits non-zero when any check
fails. Check that no other bench runs first (``pgrep -af bench/``).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_soak",
                        help="the server to create the run's database on (PostgreSQL; ignored with --embedded)")
    parser.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--instances", type=int, default=2, help="worker instances (the default run needs 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork processes per instance")
    parser.add_argument("--backlog", type=int, default=None,
                        help="most tasks sent and not finished (5,000; 500 with --embedded)")
    parser.add_argument("--cut-seconds", type=float, default=5.0)
    parser.add_argument("--faults-at", default="0.25,0.5,0.75",
                        help="shares of the tasks finished when PostgreSQL restarts, B is killed, A is cut")
    parser.add_argument("--embedded", action="store_true", help="SQLite and the filesystem broker, pages polled")
    parser.add_argument("--slow-write", type=float, default=0.1, help="seconds a write must take to count as waiting")
    parser.add_argument("--var-dir", default=os.environ.get("VAR_DIR") or tempfile.gettempdir())
    return parser.parse_args()


def main():
    args = parse_args()
    folder = Path(args.var_dir) / f"soak-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    if args.embedded:
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'soak.sqlite3'}"
    else:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tests.e2e import celery_app
    from tests.fixtures.workers import database_url

    server_name = connection.settings_dict["NAME"]
    if args.embedded:
        call_command("migrate", verbosity=0)
    else:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    workers, proxy = [], None
    queue = f"soak-{uuid.uuid4().hex[:12]}"
    app = celery_app.soak_filesystem_app if args.embedded else celery_app.soak_app
    try:
        if args.embedded:
            report, poller_report = run_embedded(args, app, queue, folder, workers, database_url)
        else:
            report, proxy = run_with_faults(args, app, queue, folder, workers, database_url)
            poller_report = None
        ok = print_report(args, report, workers, poller_report)
    finally:
        from demo.processes import stop_all

        stop_all(workers, 10)
        if proxy is not None:
            proxy.close()
        if not args.embedded:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
            drop_database(connection, server_name)
        shutil.rmtree(folder / "broker", ignore_errors=True)
    print(f"logs: {folder}")
    sys.exit(0 if ok else 1)


def drop_database(connection, server_name):
    """Drop the run's database, ending first any session a killed worker's pool left behind."""
    test_name = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                       "AND pid <> pg_backend_pid()", [test_name])
    connection.creation.destroy_test_db(server_name, verbosity=0)


def run_with_faults(args, app, queue, folder, workers, database_url):
    from django.db import connection

    from tests.e2e import celery_app
    from tests.e2e.faults import BrokerProxy, restart_server
    from tests.e2e.soak import Soak, WorkerInstance, start_all, worker_env

    broker = urlsplit(args.broker_url)
    proxy = BrokerProxy(broker.hostname, broker.port or 5672)
    proxied_url = args.broker_url.replace(broker.netloc.split("@")[-1], f"127.0.0.1:{proxy.port}")
    celery_app.configure(app, args.broker_url, queue)
    app.set_current()
    db_url = database_url(connection.settings_dict)
    for number in range(args.instances):
        name = chr(ord("A") + number)
        url = proxied_url if number == 0 else args.broker_url
        env = worker_env(db_url, url, queue, RESULTS_SLOW_WRITE_SECONDS=str(args.slow_write))
        workers.append(WorkerInstance(f"soak-{name}-{queue[-6:]}", "soak_app", queue, args.concurrency, env,
                                      folder / f"worker-{name}.log"))
    start_all(workers)
    first, killed = workers[0], workers[-1]

    def probe():
        connection.close()
        connection.ensure_connection()

    def restart_postgresql():
        restart_server("postgresql", probe)

    def kill_and_start():
        killed.kill()
        killed.start()

    def cut_broker():
        proxy.cut()
        time.sleep(args.cut_seconds)
        proxy.restore()

    shares = [float(share) for share in args.faults_at.split(",")]
    faults = [
        (shares[0], "PostgreSQL restarted", restart_postgresql),
        (shares[1], f"instance {killed.name} SIGKILLed and started again", kill_and_start),
        (shares[2], f"instance {first.name}'s broker connections cut for {args.cut_seconds:g} s", cut_broker),
    ]
    print(f"soak: {args.tasks:,} tasks, {args.instances} instances x {args.concurrency} processes, acks_late, "
          f"{connection.vendor} ({connection.settings_dict['NAME']}), broker {broker.hostname}:{broker.port or 5672} "
          f"(instance {first.name} through a proxy), queue {queue}", flush=True)
    soak = Soak(app, args.tasks, workers, faults, folder / "bodies.log", backlog=args.backlog or 5000)
    report = soak.run(say=lambda text: print(text, flush=True))
    report.first_writes = {
        fault.name: first_write_after(worker.hostname, fault.lifted_wall)
        for fault, worker in zip(report.faults[1:], (killed, first), strict=False)
    }
    return report, proxy


def first_write_after(hostname, wall):
    """Seconds from ``wall`` to the first row the instance ``hostname`` wrote after it."""
    from django.db.models import Min

    from results.models import TaskResult

    moment = datetime.fromtimestamp(wall, UTC)
    first = TaskResult.objects.filter(worker=hostname, date_done__gte=moment).aggregate(first=Min("date_done"))["first"]
    return None if first is None else (first - moment).total_seconds()


def run_embedded(args, app, queue, folder, workers, database_url):
    from django.db import connection

    from demo.processes import ProcessGroup
    from tests.e2e import celery_app
    from tests.e2e.soak import Soak, WorkerInstance, start_all, worker_env

    broker_dir = folder / "broker"
    celery_app.configure(app, "filesystem://", queue, str(broker_dir))
    app.set_current()
    db_url = database_url(connection.settings_dict)
    env = worker_env(db_url, "filesystem://", queue, str(broker_dir), RESULTS_SLOW_WRITE_SECONDS=str(args.slow_write))
    workers.append(WorkerInstance(f"soak-embedded-{queue[-6:]}", "soak_filesystem_app", queue, args.concurrency, env,
                                  folder / "worker.log"))
    start_all(workers)
    stop_file, poller_file = folder / "stop-polling", folder / "poller.json"
    poller = ProcessGroup("poller", [sys.executable, "-m", "tests.e2e.dashboard_poller", str(stop_file),
                                     str(poller_file)], log_path=folder / "poller.log", cwd=ROOT,
                          env={**env, "RESULTS_SLOW_WRITE_SECONDS": str(args.slow_write)})
    print(f"soak (embedded): {args.tasks:,} tasks, 1 instance x {args.concurrency} processes, acks_late, SQLite "
          f"({connection.settings_dict['NAME']}), filesystem broker, dashboard pages polled by another process",
          flush=True)
    poller.start()
    try:
        soak = Soak(app, args.tasks, workers, [], folder / "bodies.log", backlog=args.backlog or 500)
        report = soak.run(say=lambda text: print(text, flush=True))
    finally:
        stop_file.touch()
        deadline = time.monotonic() + 60
        while poller.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        poller.stop(5)
    poller_report = json.loads(poller_file.read_text()) if poller_file.exists() else None
    return report, poller_report


def print_report(args, report, workers, poller_report):
    check = report.verification
    print(f"\nmix: {', '.join(f'{kind} {count:,}' for kind, count in sorted(report.kinds.items()))}")
    print(f"throughput: {report.tasks:,} tasks in {report.seconds:.1f} s: {report.rate:.0f} tasks/s overall")
    for fault in report.faults:
        recovered = "not within the run" if fault.recovered is None else f"{fault.recovered:.1f} s"
        print(f"  {fault.name}: at {fault.ready_at_start:,} finished; {fault.before:.0f} tasks/s in the "
              f"{10:.0f} s before, {fault.during:.0f} tasks/s for the {fault.ended - fault.started:.1f} s it lasted, "
              f"{fault.after:.0f} tasks/s in the (up to) 10 s after; rate back to 80 % after {recovered}")
        first = report.first_writes.get(fault.name)
        if first is not None:
            print(f"    the instance's first write {first:.1f} s after it was restored")
    for name, figures in report.logs.items():
        print(f"worker {name}: backend retries {figures.retries}, requeues {figures.requeues}, "
              f"writes that waited >= {args.slow_write:g} s: {figures.slow_writes} "
              f"(longest {figures.longest_write:.2f} s), "
              f"'database is locked' lines {figures.locked}, ERROR lines {len(figures.errors)}")
        for line in figures.errors[:5]:
            print(f"    {line[:220]}")
    print(f"this process (sends, chord counters, polls): backend retries {report.client_retries}; "
          f"progress samples lost to the outage {report.failed_samples}; chord sweeps {dict(report.sweeps) or 'none'}")
    locked = sum(figures.locked for figures in report.logs.values())
    ok = check.ok and report.sender_error is None and locked == 0
    if poller_report is not None:
        print(f"dashboard: {poller_report['requests']:,} page requests ({poller_report['by_page']}), "
              f"5xx or 'database is locked': {len(poller_report['errors'])}, slowest {poller_report['slowest']:.2f} s")
        for error in poller_report["errors"][:5]:
            print(f"    {error}")
        ok = ok and not poller_report["errors"]
    elif args.embedded:
        print("dashboard: the poller wrote no report")
        ok = False
    bodies = sum(check.body_publishes.values())
    print(f"verification: {check.rows:,} rows for {check.expected:,} task ids sent; missing {len(check.missing)}, "
          f"unexpected {len(check.unexpected)}, duplicates {len(check.duplicates)}, "
          f"wrong state {len(check.wrong_state)}, "
          f"state differing from AsyncResult(id).state {len(check.client_disagrees)}, unfinished "
          f"{dict(check.unfinished) or 0}; chord bodies published once {check.body_publishes.get(1, 0)}/{bodies} "
          f"(runs on a redelivery {check.body_redeliveries}); chord counters left {check.counters_left}")
    for problem in check.problems():
        print(f"  PROBLEM: {problem}")
    if report.sender_error is not None:
        print(f"  PROBLEM: the sender failed: {report.sender_error!r}")
    if report.stalled:
        print(f"  PROBLEM: {report.stalled}")
        ok = False
    print("OK" if ok else "FAILED")
    return ok


if __name__ == "__main__":
    main()
