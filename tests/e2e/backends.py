"""A test-only result backend for the workers of ``tests/e2e``: the database backend with pause points.

A chord's deciding worker passes two points a lost worker makes interesting:
after the deciding commit and before the body is published
(``before_publish``), and after the publish and before the counter is
deleted (``after_publish``). A test arms a point by creating
``arm-<point>`` in the folder ``E2E_CHORD_PAUSE_DIR`` names; the first
worker process to reach it takes the file (renamed to ``paused-<point>-<pid>``)
and waits there, for the test to kill it (or to create ``release-<point>``:
it goes on). Unarmed, the backend is the real one: nothing waits.
"""
import os
import time

from results.backends.database import DatabaseBackend

#: How long a paused process waits for its kill before it goes on (a failed test never hangs a worker).
PAUSE_TIMEOUT = 60


def pause_if_armed(point):
    folder = os.environ.get("E2E_CHORD_PAUSE_DIR")
    if not folder:
        return
    try:
        os.rename(os.path.join(folder, f"arm-{point}"), os.path.join(folder, f"paused-{point}-{os.getpid()}"))
    except FileNotFoundError:
        return  # not armed, or another process took it
    deadline = time.monotonic() + PAUSE_TIMEOUT
    release = os.path.join(folder, f"release-{point}")
    while time.monotonic() < deadline and not os.path.exists(release):
        time.sleep(0.05)


class PausingDatabaseBackend(DatabaseBackend):
    """``DatabaseBackend`` with the two pause points of a chord's firing."""

    def fire_chord(self, counter, callback, missing=()):
        pause_if_armed("before_publish")
        return super().fire_chord(counter, callback, missing)

    def delete_fired_counter(self, counter):
        pause_if_armed("after_publish")
        return super().delete_fired_counter(counter)
