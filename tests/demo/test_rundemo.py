"""``manage.py rundemo`` (what ``make run`` starts), end to end.

Real workers, beat, the web server and the sender run on a SQLite file
and the filesystem broker in a temporary folder, until the workers have
produced every kind of result; then a Ctrl-C (SIGINT) must stop them all
and leave no process behind.
"""
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings
from django.core.management import CommandError
from django.db import connection

from dashboard_project import settings_demo
from demo.management.commands.rundemo import browser_host, parse_addr
from demo.processes import alive, descendants

#: The processes ``rundemo`` starts are given the demo's settings module itself.
DEMO_SETTINGS_MODULE = settings_demo.__name__

STARTUP_TIMEOUT = 90
RESULTS_TIMEOUT = 150


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_env(tmp_path):
    """A fresh checkout's set-up: SQLite and the filesystem broker under ``tmp_path``, migrated.

    On the demo's settings, as ``make run`` selects them; rundemo hands them on to the processes it starts.
    """
    if connection.vendor != "sqlite":
        pytest.skip("runs once, in the SQLite pass: rundemo uses its own SQLite file whatever the database under test")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_URL"))}
    env.update(
        VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        DJANGO_SETTINGS_MODULE=DEMO_SETTINGS_MODULE,
        PYTHONUNBUFFERED="1",
    )
    for step in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):  # as `make run` does first
        subprocess.run([sys.executable, "manage.py", *step], cwd=settings.BASE_DIR, env=env, check=True)
    return env


def live_results(db_path):
    """What the demo's real workers have stored so far."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT task_name, status, task_args, task_kwargs, periodic_task_name FROM results_taskresult"
            " WHERE worker LIKE 'live-%'"
        ).fetchall()
    return rows


def counted_live_results(db_path):
    """How many of the live workers' results the statistics have counted (beat's ``dashboard.rollup_statistics``)."""
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT coalesce(sum(count), 0) FROM dashboard_bucket WHERE granularity = 'm' AND dimension = 'w'"
            " AND key LIKE 'live-%'"
        ).fetchone()
    return row[0]


def demo_is_lively(seen):
    """Has every kind of result shown up (``seen``: (name, status, periodic name) seen so far)?

    States pass (a RETRY becomes SUCCESS or FAILURE), so what was seen at
    any poll counts.
    """
    statuses = {status for _, status, _ in seen}
    return (
        {"SUCCESS", "FAILURE", "RETRY", "REVOKED", "STARTED"} <= statuses
        and ("images.tasks.publish_gallery", "SUCCESS", None) in seen
        and any(periodic == "sync-inventory" for *_, periodic in seen)
    )


def wait_for(condition, timeout, process, output):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"rundemo exited early ({process.returncode}):\n{output.read_text()}")
        if condition():
            return
        time.sleep(1)
    pytest.fail(f"timed out after {timeout} s; rundemo said:\n{output.read_text()}")


@pytest.mark.slow
def test_live_demo_runs_and_ctrl_c_leaves_nothing(tmp_path, demo_env):
    port = free_port()
    output = tmp_path / "rundemo.out"
    db_path = tmp_path / "demo.sqlite3"
    command = [
        sys.executable, "manage.py", "rundemo", f"--addr=127.0.0.1:{port}",
        "--history=100", "--trickle=1", "--workers=1", "--concurrency=8",
    ]
    with open(output, "w") as out:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=demo_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    family = set()
    try:
        wait_for(lambda: "Dashboard:" in output.read_text(), STARTUP_TIMEOUT, process, output)
        banner = output.read_text()
        assert f"http://127.0.0.1:{port}/dashboard/" in banner
        assert "Log in as:  demo  /  " in banner  # a fresh database: the new password is shown
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as response:
            assert response.status == 200

        seen = set()

        def lively():
            family.update(descendants(process.pid))
            seen.update((name, status, periodic) for name, status, _, _, periodic in live_results(db_path))
            return demo_is_lively(seen)

        wait_for(lively, RESULTS_TIMEOUT, process, output)
        rows = live_results(db_path)
        charges = [args for name, _, args, _, _ in rows if name == "shop.tasks.charge_card"]
        resets = [kwargs for name, _, _, kwargs, _ in rows if name == "emails.tasks.send_password_reset"]
        assert charges and all("'****'" in args and "tok_" not in args for args in charges)
        assert resets and all(kwargs == '"{\'token\': \'********\'}"' for kwargs in resets)
        assert len(family) >= 1 + 8 + 1 + 1 + 1  # worker and its pool, beat, server, sender
        # The insights' figures follow on their own: beat runs the statistics pass on the demo's workers
        # (no page has been opened, so no page caught them up).
        wait_for(lambda: counted_live_results(db_path) > 0, 30, process, output)

        os.kill(process.pid, signal.SIGINT)
        assert process.wait(timeout=40) == 0
        assert "Stopped: no demo process is left running." in output.read_text()
        assert [pid for pid in family if alive(pid)] == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    "addr, host, port, url_host",
    [
        ("8000", "127.0.0.1", 8000, "127.0.0.1"),
        ("127.0.0.1:8051", "127.0.0.1", 8051, "127.0.0.1"),
        ("0.0.0.0:8052", "0.0.0.0", 8052, "127.0.0.1"),
        ("[::1]:8053", "::1", 8053, "[::1]"),
    ],
)
def test_addresses_like_runserver(addr, host, port, url_host):
    assert parse_addr(addr) == (host, port)
    assert browser_host(host) == url_host


@pytest.mark.parametrize("addr", ["localhost", "127.0.0.1:http", ""])
def test_bad_address_is_refused(addr):
    with pytest.raises(CommandError, match="not an address and port"):
        parse_addr(addr)
