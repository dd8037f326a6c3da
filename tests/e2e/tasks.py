"""Tasks that end-to-end tests send to a real worker.

``shared_task`` registers each one on both test apps, so the same task
runs with results in the database or in the cache.
"""
import datetime
import json
import os
import time

from celery import shared_task
from celery.exceptions import Ignore


class ExpectedFailure(Exception):
    """Raised on purpose by ``fail``."""


@shared_task
def add(x, y):
    return x + y


@shared_task
def echo(value):
    return value


@shared_task
def python_values(day):
    """Values JSON cannot carry: a date and a set."""
    return {"when": datetime.date(2024, 5, day), "tags": {"a", "b"}}


@shared_task
def as_set(value):
    return {value}


@shared_task
def collect(values):
    """A chord body: the header's results, as received."""
    return values


@shared_task
def record_body(values, log_path):
    """A chord body that appends each of its runs to ``log_path``: runs can be counted."""
    with open(log_path, "a") as log:
        log.write(json.dumps(values) + "\n")
    return values


@shared_task(bind=True)
def record_body_delivery(self, values, log_path):
    """A chord body that appends each run to ``log_path`` with its task id and whether the broker redelivered it.

    A run that is no redelivery is a publish of the body: the soak counts
    those per chord (the backend's at-least-once sends), apart from the
    broker handing an unacknowledged message out again (``acks_late``).
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    with open(log_path, "a") as log:
        log.write(json.dumps({"id": self.request.id, "redelivered": redelivered, "parts": len(values)}) + "\n")
    return len(values)


@shared_task
def total(values):
    return sum(values)


@shared_task
def fail(message):
    raise ExpectedFailure(message)


PRICES = {"apple": 1}


@shared_task
def charge(sku):
    """A KeyError raised in one place of the project's code (a failure group)..."""
    return PRICES[sku]


@shared_task
def refund(sku):
    """...and the same exception type raised in another place (another group)."""
    return -PRICES[sku]


@shared_task
def sleep_then_return(seconds, value):
    time.sleep(seconds)
    return value


@shared_task(bind=True, max_retries=2)
def fail_then_succeed(self, countdown):
    """Fails with a retry on its first attempt, succeeds on the next one ``countdown`` s later."""
    if self.request.retries == 0:
        raise self.retry(exc=ExpectedFailure("attempt 0"), countdown=countdown)
    return self.request.retries


@shared_task(bind=True)
def progress(self, steps, pause):
    """Reports a custom PROGRESS state, then finishes."""
    for step in range(steps):
        self.update_state(state="PROGRESS", meta={"step": step, "of": steps})
        time.sleep(pause)
    return steps


@shared_task(bind=True)
def spawn_children(self, count):
    """Sends ``count`` sub-tasks and returns their ids."""
    return [add.delay(index, index).id for index in range(count)]


@shared_task
def secret_login(user, password):
    return f"logged in {user}"


@shared_task(bind=True)
def deliver_twice(self, value, marker_dir):
    """Publishes a duplicate of its own message the first time it runs.

    The copy has the same task id, group and chord, as a redelivery after
    a lost acknowledgement would: the chord counts this header task twice.
    """
    marker = os.path.join(marker_dir, f"dup-{self.request.id}")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return value
    self.signature_from_request().apply_async()
    return value


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def crash_once(self, value, marker_dir):
    """Kills its worker process the first time it runs (before returning)."""
    marker = os.path.join(marker_dir, f"crash-{self.request.id}")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return value
    os._exit(1)


@shared_task(ignore_result=True)
def echo_unstored(value):
    """Returns ``value`` without storing it: a chord header part that leaves no row."""
    return value


@shared_task
def ignore_me():
    raise Ignore()


@shared_task
def wait_for_file(path, value, timeout=60):
    """Returns ``value`` once ``path`` exists: the test decides when each task finishes.

    Gives up (raises) after ``timeout`` seconds, so a failed test never leaves it running.
    """
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise ExpectedFailure(f"{path} did not appear within {timeout}s")
        time.sleep(0.05)
    return value


@shared_task
def fail_unless_marker(marker_path):
    """Fails on its first run (leaving ``marker_path`` behind), succeeds when run again: a retry can fix it."""
    if not os.path.exists(marker_path):
        with open(marker_path, "w") as marker:
            marker.write("first run failed\n")
        raise ExpectedFailure("first run: the marker was missing")
    return "ran again"
