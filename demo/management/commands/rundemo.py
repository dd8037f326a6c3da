"""``manage.py rundemo``: the live demo that ``make run`` starts.

Creates the demo login if there is none, seeds some history into an empty
database, then runs real Celery workers, Celery beat, the web server and a
sender that keeps the workers busy with the demo mix, all under one
supervisor: Ctrl-C stops every one of them. Their output goes to
``var/log/<name>.log``; the terminal shows what matters: the URL, the login
and a line now and then about what the workers did.
"""
import os
import random
import socket
import sys
import time
from datetime import timedelta

from celery import states
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, router
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils import timezone

from demo import mix
from demo.login import DEMO_USERNAME, ensure_demo_login
from demo.seed import seed_tasks
from demo.supervisor import WORKER_STOP_SIGNAL, StopRequested, Supervisor
from results.models import TaskResult

STATUS_EVERY = 30  # seconds between the terminal's activity lines
SERVER_START_TIMEOUT = 60
ACTIVITY_WORDS = {
    states.SUCCESS: "succeeded",
    states.FAILURE: "failed",
    states.RETRY: "retrying",
    states.STARTED: "running",
    states.REVOKED: "revoked",
    states.PENDING: "pending",
}


def parse_addr(addr):
    """``(host, port)`` of a runserver address: ``8000``, ``127.0.0.1:8000``, ``[::1]:8000``."""
    host, _, port = addr.rpartition(":")
    if not port.isdigit():
        raise CommandError(f"{addr!r} is not an address and port such as 127.0.0.1:8000.")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def browser_host(host):
    """Where a browser on this machine reaches a server listening on ``host``."""
    if host in ("0.0.0.0", "::", "0"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class Command(BaseCommand):
    help = "Run the live demo: workers, beat, the web server and a stream of demo tasks, until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address and port of the web server")
        parser.add_argument("--workers", type=int, default=2, help="Celery workers to start")
        parser.add_argument("--concurrency", type=int, default=6, help="pool processes per worker")
        parser.add_argument(
            "--history", type=int, default=2000, metavar="N",
            help="seed N past results when the database has none (0: none)",
        )
        parser.add_argument(
            "--trickle", type=float, default=2.0, metavar="SECONDS",
            help="send a demo task about every SECONDS seconds (0: only the first mix)",
        )
        parser.add_argument("--no-send", action="store_true", help="send no demo tasks at all")
        parser.add_argument(
            "--grace", type=float, default=10.0, help="seconds a process gets to stop before it is killed"
        )

    def handle(self, *args, **options):
        host, port = parse_addr(options["addr"])
        if options["workers"] < 1 or options["concurrency"] < 1:
            raise CommandError("--workers and --concurrency must be at least 1.")
        self.check_migrated()
        self.announce_login()
        self.seed_history(options["history"])
        url = f"http://{browser_host(host)}:{port}"
        log_dir = settings.VAR_DIR / "log"
        with Supervisor(log_dir=log_dir, grace=options["grace"], cwd=settings.BASE_DIR) as supervisor:
            try:
                self.start_all(supervisor, options)
                if not options["no_send"]:
                    self.send_mix(supervisor, options["trickle"])
                self.wait_for_server(supervisor, host, port)
                self.banner(url, log_dir, supervisor)
                self.watch(supervisor)
            except StopRequested:
                self.stdout.write("\nStopping the web server, workers, beat and sender...")
        self.stdout.write(self.style.SUCCESS("Stopped: no demo process is left running."))

    # --- before the processes -------------------------------------------

    def check_migrated(self):
        connection = connections[router.db_for_write(TaskResult)]
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError(
                "The database has unapplied migrations: run `python manage.py migrate` first (`make run` does)."
            )

    def announce_login(self):
        user, password = ensure_demo_login()
        if password:
            self.login_lines = [
                f"Log in as:  {user.get_username()}  /  {password}",
                "            (shown only this once; `python manage.py changepassword "
                f"{user.get_username()}` sets a new one)",
            ]
            self.stdout.write(self.style.SUCCESS(f"Created the demo login {user.get_username()!r}."))
        else:
            self.login_lines = [
                f"Log in as:  {DEMO_USERNAME}  (password shown when it was created; "
                f"`python manage.py changepassword {DEMO_USERNAME}` sets a new one)"
            ]

    def seed_history(self, count):
        if count <= 0 or TaskResult.objects.exists():
            return
        self.stdout.write(f"Seeding {count:,} past task results so the dashboard has a history...")
        seed_tasks(count, rng=random.Random())

    # --- the processes ----------------------------------------------------

    @staticmethod
    def child_env():
        """The environment of every process the demo starts: this one's, on this command's settings.

        The demo's settings (``dashboard_project.settings_demo``, as ``make run``
        selects them) install the demo's tasks and commands and give beat its
        schedule; the children must not fall back to the production settings.
        """
        return {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}

    def start_all(self, supervisor, options):
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "dashboard_project"]
        env = self.child_env()
        self.stdout.write(f"Starting {options['workers']} Celery worker(s), beat and the web server...")
        for number in range(1, options["workers"] + 1):
            supervisor.start(
                f"worker-{number}",
                celery + [
                    "worker", "--loglevel=INFO", f"--hostname=live-{number}@%h",
                    f"--concurrency={options['concurrency']}", "-O", "fair",
                ],
                env=env,
                stop_signal=WORKER_STOP_SIGNAL,
            )
        supervisor.start("beat", celery + ["beat", "--loglevel=INFO"], env=env)
        supervisor.start("server", [python, "manage.py", "runserver", options["addr"], "--noreload"], env=env)

    def send_mix(self, supervisor, trickle):
        self.stdout.write("Sending the demo mix to the workers:")
        total = mix.send_burst(random.Random(), report=lambda sent: self.stdout.write(f"  {sent.description}"))
        self.stdout.write(f"Sent {total} tasks.")
        if trickle > 0:
            supervisor.start(
                "sender", [sys.executable, "manage.py", "demo", "--trickle", f"{trickle:g}"], env=self.child_env()
            )

    def wait_for_server(self, supervisor, host, port):
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_children(supervisor)
            try:
                socket.create_connection((browser_host(host).strip("[]"), port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"The web server did not answer on {host}:{port} within {SERVER_START_TIMEOUT} s.")

    def check_children(self, supervisor):
        child = supervisor.exited()
        if child:
            tail = child.log_tail()
            raise CommandError(
                f"{child.name} stopped unexpectedly (exit code {child.process.returncode}); "
                f"the end of {child.log_path}:\n{tail}"
            )

    def banner(self, url, log_dir, supervisor):
        names = ", ".join(f"{child.name}.log" for child in supervisor.children)
        rule = "-" * 72
        self.stdout.write(
            "\n".join(
                [
                    "",
                    rule,
                    self.style.SUCCESS(f"Dashboard:  {url}/dashboard/"),
                    f"Admin:      {url}/admin/",
                    *self.login_lines,
                    f"Logs:       {log_dir}/ ({names})",
                    "Ctrl-C stops the web server, the workers, beat and the sender.",
                    rule,
                    "",
                ]
            )
        )

    def watch(self, supervisor):
        """Report the workers' activity now and then until a stop signal or a child's death."""
        while True:
            if supervisor.wait(timeout=STATUS_EVERY):
                self.check_children(supervisor)
            self.stdout.write(self.activity_line())

    def activity_line(self):
        since = timezone.now() - timedelta(seconds=STATUS_EVERY)
        try:
            counts = dict(
                TaskResult.objects.filter(date_done__gte=since).values_list("status").annotate(n=Count("id")).order_by()
            )
        except DatabaseError as exc:  # a busy database is no reason to stop the demo
            return f"{time.strftime('%H:%M:%S')}  could not read the results: {exc}"
        known = [(ACTIVITY_WORDS[status], counts.pop(status)) for status in ACTIVITY_WORDS if status in counts]
        others = [(status.lower(), n) for status, n in sorted(counts.items())]
        summary = ", ".join(f"{n} {word}" for word, n in known + others) or "no task changed state"
        return f"{time.strftime('%H:%M:%S')}  last {STATUS_EVERY} s: {summary}"
