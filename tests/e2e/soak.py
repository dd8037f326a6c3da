"""The soak: a mixed workload at volume on real workers, faults on the way, then every result checked.

Shared by ``bench/soak.py`` (100,000 tasks, printing figures) and
``tests/e2e/test_soak.py`` (a few thousand, asserting). It does not import
pytest; the caller has set Django up on the database the workers write to.

- ``workload()`` yields the mix in blocks of 100 tasks: quick successes,
  failures, retries (fail once, succeed on the retry), a group of 10, a
  chord of 9 parts and its body, and in every tenth block a slow task.
- ``Sender`` publishes it from a thread, keeping at most ``backlog`` tasks
  unfinished, so a fault always lands while the queue holds work.
- ``Progress`` samples the number of finished rows (a ready state) every
  quarter second: the timeline each phase's throughput and each fault's
  recovery are read from.
- ``Soak.run()`` applies the faults, each one when a share of the tasks has
  finished, one after the other; then waits for every result, sweeping
  chords stuck firing as a beat would (``results.sweeping``).
- ``verify()`` checks the rows against what was sent and against Celery's
  own client (``AsyncResult(id).state``).
"""
import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from celery import chord, group, states
from django.db import Error as DatabaseError
from django.db import close_old_connections, connection
from django.db.models import Count

from demo.processes import ProcessGroup
from results.backends.outage import SLOW_WRITE_MESSAGE
from results.models import ChordCounter, TaskResult
from tests.fixtures.workers import worker_command

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.e2e.tasks"
BLOCK = 100  # tasks per block of the mix
GROUP_SIZE = 10
CHORD_PARTS = 9
SAMPLE_SECONDS = 0.25
#: Rate windows: the figures before a fault, after it, and the window whose rate says "recovered".
BEFORE_SECONDS = 10.0
RECOVERY_WINDOW = 2.0
RECOVERED_SHARE = 0.8
#: A chord firing this long is swept at the end (a beat would, after ``CHORD_FIRING_TIMEOUT``).
SWEEP_AFTER_SECONDS = 60.0

#: Lines of a worker's log that count: the backend's retries through an outage, its requeues, its slow writes.
RETRY_LINE = "Database unavailable in"
REQUEUE_LINE = "Could not store"
LOCKED_TEXT = "database is locked"
EXPECTED_FAILURE = "ExpectedFailure"  # the mix's failures and retries log it as an ERROR: not a problem


# --- the workload ----------------------------------------------------------------


@dataclass
class Sent:
    """Every task id sent, with the state it must end in; chord bodies apart (their runs are counted)."""

    expected: dict = field(default_factory=dict)  # task id -> final state
    kinds: Counter = field(default_factory=Counter)
    chord_bodies: set = field(default_factory=set)

    def add(self, kind, task_id, state=states.SUCCESS):
        self.expected[task_id] = state
        self.kinds[kind] += 1

    def __len__(self):
        return len(self.expected)


def workload(app, total, body_log):
    """``(kind, signature)`` pairs making ``total`` tasks (rounded to whole blocks of 100), in blocks of the mix."""
    sig = app.signature
    for block in range(max(total // BLOCK, 1)):
        base = block * BLOCK
        quick = 65 - (1 if block % 10 == 9 else 0)
        for index in range(quick):
            yield "quick", sig(f"{TASKS}.add", (base, index))
        for index in range(10):
            yield "failure", sig(f"{TASKS}.fail", (f"soak failure {base + index}",))
        for _ in range(5):
            yield "retry", sig(f"{TASKS}.fail_then_succeed", (0.5,))
        if block % 10 == 9:
            yield "slow", sig(f"{TASKS}.sleep_then_return", (1.5, base))
        yield "group", group([sig(f"{TASKS}.add", (base, i)) for i in range(GROUP_SIZE)], app=app)
        header = [sig(f"{TASKS}.echo", (f"c{block}-{i}",)) for i in range(CHORD_PARTS)]
        yield "chord", chord(header, sig(f"{TASKS}.record_body_delivery", (str(body_log),)), app=app)


def send(kind, signature, sent):
    """Publish one unit of the workload and record its task ids."""
    result = signature.apply_async()
    if kind == "group":
        for member in result.results:
            sent.add("group member", member.id)
    elif kind == "chord":
        for part in result.parent.results:
            sent.add("chord part", part.id)
        sent.add("chord body", result.id)
        sent.chord_bodies.add(result.id)
    else:
        sent.add(kind, result.id, states.FAILURE if kind == "failure" else states.SUCCESS)


class Sender(threading.Thread):
    """Publishes the workload, keeping at most ``backlog`` sent tasks unfinished (``progress.ready``)."""

    def __init__(self, app, total, body_log, progress, backlog):
        super().__init__(name="soak-sender", daemon=True)
        self.app, self.total, self.body_log = app, total, body_log
        self.progress, self.backlog = progress, backlog
        self.sent = Sent()
        self.error = None
        self.finished_at = None
        self.cancelled = threading.Event()

    def run(self):
        self.app.set_current()  # Celery's current app is per thread
        try:
            for kind, signature in workload(self.app, self.total, self.body_log):
                while len(self.sent) - self.progress.ready > self.backlog and not self.cancelled.is_set():
                    time.sleep(0.02)
                if self.cancelled.is_set():
                    return
                send(kind, signature, self.sent)
        except Exception as exc:  # reported by the soak: a sender that died explains a stall
            self.error = exc
        finally:
            self.finished_at = time.monotonic()
            connection.close()


# --- measuring ---------------------------------------------------------------------


class Progress(threading.Thread):
    """Samples ``(monotonic time, finished rows)`` every ``SAMPLE_SECONDS``; a failed query (an outage) skips one."""

    def __init__(self):
        super().__init__(name="soak-progress", daemon=True)
        self.samples = []
        self.ready = 0
        self.failed_samples = 0
        self._stopping = threading.Event()

    def count(self):
        return TaskResult.objects.filter(status__in=states.READY_STATES).count()

    def run(self):
        while not self._stopping.is_set():
            try:
                self.ready = self.count()
                self.samples.append((time.monotonic(), self.ready))
            except DatabaseError:
                self.failed_samples += 1
                connection.close()
            self._stopping.wait(SAMPLE_SECONDS)
        connection.close()

    def stop(self):
        self._stopping.set()
        self.join()

    def at(self, moment):
        """Finished rows at ``moment`` (the last sample before it)."""
        value = 0
        for when, ready in self.samples:
            if when > moment:
                break
            value = ready
        return value

    def rate(self, start, end):
        return (self.at(end) - self.at(start)) / (end - start) if end > start else 0.0


@dataclass
class Fault:
    name: str
    started: float = 0.0
    ended: float = 0.0  # the fault is lifted: the server answers, the instance is ready, the proxy lets through
    lifted_wall: float = 0.0  # the same moment, as ``time.time()`` (to compare with the rows' dates)
    ready_at_start: int = 0
    before: float = 0.0  # tasks/s in the BEFORE_SECONDS before it
    during: float = 0.0
    after: float = 0.0  # tasks/s in the BEFORE_SECONDS after it was lifted
    recovered: float | None = None  # seconds from the fault until the rate was back


def measure(fault, progress):
    """The fault's figures from the timeline; the windows end with the run (its tail is no recovery)."""
    first, last = progress.samples[0][0], progress.samples[-1][0]
    fault.before = progress.rate(max(fault.started - BEFORE_SECONDS, first), fault.started)
    fault.during = progress.rate(fault.started, fault.ended)
    fault.after = progress.rate(fault.ended, min(fault.ended + BEFORE_SECONDS, last))
    target = RECOVERED_SHARE * fault.before
    for when, _ in progress.samples:
        if when < fault.started:
            continue
        if when + RECOVERY_WINDOW > progress.samples[-1][0]:
            break
        if progress.rate(when, when + RECOVERY_WINDOW) >= target:
            fault.recovered = max(when + RECOVERY_WINDOW - fault.started, 0.0)
            break


# --- workers -----------------------------------------------------------------------


class WorkerInstance(ProcessGroup):
    """One ``celery worker`` of ``tests.e2e.celery_app:<app_name>`` (prefork), its pool in its process group."""

    def __init__(self, name, app_name, queue, concurrency, env, log_path):
        command = worker_command(app_name, queue, concurrency, hostname=name)
        super().__init__(name, command, log_path=log_path, cwd=ROOT, env=env, signal_group=True)
        self.hostname = f"{name}@{socket.gethostname()}"

    def start(self, timeout=90):
        super().start()
        self.wait_for_log(b" ready.", timeout)
        return self

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_all(workers, timeout=90):
    """Start the instances side by side, then wait until each is ready."""
    for worker in workers:
        ProcessGroup.start(worker)
    for worker in workers:
        worker.wait_for_log(b" ready.", timeout)


def worker_env(database_url, broker_url, queue, broker_dir="", **extra):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard_project.settings",
        "DATABASE_URL": database_url,
        "E2E_BROKER_URL": broker_url,
        "E2E_QUEUE": queue,
        "E2E_BROKER_DIR": broker_dir,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@dataclass
class LogFigures:
    retries: int = 0
    requeues: int = 0
    slow_writes: int = 0
    longest_write: float = 0.0
    locked: int = 0
    errors: list = field(default_factory=list)  # ERROR/CRITICAL lines, for the reader


def read_log(text):
    """The backend's own words in a worker's log: retries, requeues, slow writes and their longest."""
    figures = LogFigures()
    for line in text.splitlines():
        if RETRY_LINE in line:
            figures.retries += 1
        if REQUEUE_LINE in line:
            figures.requeues += 1
        if LOCKED_TEXT in line.lower():
            figures.locked += 1
        if SLOW_WRITE_MESSAGE in line:
            figures.slow_writes += 1
            try:
                took = float(line.rsplit(" took ", 1)[1].split(" s", 1)[0])
            except (IndexError, ValueError):
                continue
            figures.longest_write = max(figures.longest_write, took)
        if ("ERROR/" in line or "CRITICAL/" in line) and EXPECTED_FAILURE not in line:
            figures.errors.append(line.strip())
    return figures


class RetryCounter(logging.Handler):
    """Counts the backend's retry warnings in this process (the bench's own reads and chord sends)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.retries = 0

    def emit(self, record):
        if record.getMessage().startswith(RETRY_LINE):
            self.retries += 1


# --- the run -----------------------------------------------------------------------


@dataclass
class Verification:
    rows: int = 0
    expected: int = 0
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    wrong_state: list = field(default_factory=list)  # (id, row status, expected)
    client_disagrees: list = field(default_factory=list)  # (id, row status, AsyncResult.state)
    unfinished: Counter = field(default_factory=Counter)  # status -> rows not in a ready state
    body_publishes: Counter = field(default_factory=Counter)  # publishes per chord body -> bodies
    body_redeliveries: int = 0
    counters_left: int = 0

    @property
    def consistent(self):
        """Nothing lost, doubled or stuck: one row per id sent, in the state Celery's own client reports."""
        return not (self.missing or self.unexpected or self.duplicates or self.client_disagrees
                    or self.unfinished or self.counters_left or set(self.body_publishes) - {1})

    @property
    def ok(self):
        """``consistent``, and every task ended as the workload meant it to (``wrong_state`` empty)."""
        return self.consistent and not self.wrong_state

    def problems(self):
        found = []
        for name in ("missing", "unexpected", "duplicates", "wrong_state", "client_disagrees"):
            items = getattr(self, name)
            if items:
                found.append(f"{len(items)} {name.replace('_', ' ')}, e.g. {items[:3]}")
        if self.unfinished:
            found.append(f"rows not finished: {dict(self.unfinished)}")
        if set(self.body_publishes) - {1}:
            found.append(f"chord bodies by number of publishes: {dict(self.body_publishes)}")
        if self.counters_left:
            found.append(f"{self.counters_left} chord counters left")
        return found


def verify(app, sent, body_log):
    """Every task sent has exactly one row, in its expected state, the state Celery's client reports."""
    close_old_connections()
    check = Verification(expected=len(sent))
    rows = dict(TaskResult.objects.values_list("task_id", "status"))
    check.rows = len(rows)
    check.missing = [task_id for task_id in sent.expected if task_id not in rows]
    check.unexpected = [task_id for task_id in rows if task_id not in sent.expected]
    by_id = TaskResult.objects.values("task_id").annotate(rows=Count("id"))
    check.duplicates = list(by_id.filter(rows__gt=1).values_list("task_id", flat=True))
    check.unfinished = Counter(status for status in rows.values() if status not in states.READY_STATES)
    for task_id, expected in sent.expected.items():
        status = rows.get(task_id)
        if status is None:
            continue
        if status != expected:
            check.wrong_state.append((task_id, status, expected))
        client_state = app.AsyncResult(task_id).state
        if client_state != status:
            check.client_disagrees.append((task_id, status, client_state))
    runs = [json.loads(line) for line in body_log.read_text().splitlines()] if body_log.exists() else []
    publishes = Counter(run["id"] for run in runs if not run["redelivered"])
    check.body_publishes = Counter(publishes.get(body_id, 0) for body_id in sent.chord_bodies)
    check.body_redeliveries = sum(run["redelivered"] for run in runs)
    check.counters_left = ChordCounter.objects.count()
    return check


@dataclass
class Report:
    tasks: int = 0
    seconds: float = 0.0
    kinds: Counter = field(default_factory=Counter)
    faults: list = field(default_factory=list)
    logs: dict = field(default_factory=dict)  # instance name -> LogFigures
    client_retries: int = 0
    sweeps: Counter = field(default_factory=Counter)
    sender_error: Exception | None = None
    verification: Verification | None = None
    failed_samples: int = 0
    stalled: str | None = None
    first_writes: dict = field(default_factory=dict)  # fault name -> seconds until the instance wrote again

    @property
    def rate(self):
        return self.tasks / self.seconds if self.seconds else 0.0


class Stalled(Exception):
    """Nothing finished for ``stall_timeout`` seconds (or the run outlasted ``timeout``)."""


class Soak:
    """Runs ``total`` tasks on ``workers``, applying ``faults`` (``[(share finished, name, callable)]``) in order."""

    def __init__(self, app, total, workers, faults, body_log, backlog=5000, timeout=1800, stall_timeout=300):
        self.app, self.total, self.workers, self.faults = app, total, workers, faults
        self.body_log, self.backlog = Path(body_log), backlog
        self.timeout, self.stall_timeout = timeout, stall_timeout
        self.report = Report()

    def run(self, say=lambda text: None):
        counter = RetryCounter()
        logging.getLogger("results.backends.outage").addHandler(counter)
        progress = Progress()
        progress.start()
        sender = Sender(self.app, self.total, self.body_log, progress, self.backlog)
        started = time.monotonic()
        sender.start()
        try:
            for share, name, apply_fault in self.faults:
                self._wait_for(lambda share=share: progress.ready >= share * self.total, sender, progress)
                fault = Fault(name, started=time.monotonic(), ready_at_start=progress.ready)
                say(f"{time.monotonic() - started:7.1f} s  {progress.ready:>7,} finished: {name}...")
                apply_fault()
                fault.ended, fault.lifted_wall = time.monotonic(), time.time()
                say(f"{time.monotonic() - started:7.1f} s  {progress.ready:>7,} finished: {name}: lifted "
                    f"after {fault.ended - fault.started:.1f} s")
                self.report.faults.append(fault)
            sender.join(self.timeout)
            self._wait_for(lambda: progress.ready >= len(sender.sent) and sender.finished_at, sender, progress)
            say(f"{time.monotonic() - started:7.1f} s  {progress.ready:>7,} finished: all of them")
        except Stalled as stall:  # verified all the same: the report says what is missing
            self.report.stalled = str(stall)
            say(f"{time.monotonic() - started:7.1f} s  {progress.ready:>7,} finished: {stall}")
        finally:
            finished = time.monotonic()
            sender.cancelled.set()
            sender.join(60)
            progress.stop()
            logging.getLogger("results.backends.outage").removeHandler(counter)
        time.sleep(2)  # a late duplicate or a second body run would show now
        report = self.report
        report.tasks, report.seconds, report.kinds = len(sender.sent), finished - started, sender.sent.kinds
        report.client_retries, report.sender_error = counter.retries, sender.error
        report.failed_samples = progress.failed_samples
        for fault in report.faults:
            measure(fault, progress)
        report.verification = verify(self.app, sender.sent, self.body_log)
        report.logs = {worker.name: read_log(worker.log_text()) for worker in self.workers}
        return report

    def _wait_for(self, predicate, sender, progress):
        """Wait until ``predicate()``, sweeping chords stuck firing as a beat would; fail on a stall or the timeout."""
        from results.sweeping import sweep

        deadline = time.monotonic() + self.timeout
        last_ready, last_move, last_sweep = -1, time.monotonic(), time.monotonic()
        while not predicate():
            now_ = time.monotonic()
            if progress.ready != last_ready:
                last_ready, last_move = progress.ready, now_
            if sender.error is not None and not sender.is_alive():
                raise RuntimeError(f"the sender failed: {sender.error!r}")
            if now_ - last_move > self.stall_timeout or now_ > deadline:
                raise Stalled(f"stalled at {progress.ready:,} finished of {len(sender.sent):,} sent")
            if now_ - last_sweep > 10:
                last_sweep = now_
                try:
                    self.report.sweeps.update(sweep(self.app, older_than=SWEEP_AFTER_SECONDS).as_dict())
                except DatabaseError:
                    connection.close()
            time.sleep(0.1)
