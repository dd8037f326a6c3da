"""``demo.processes``: one command per process group, its log, readiness, stop, kill, restart, parent's death."""
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from demo.processes import ProcessFailed, ProcessGroup, alive, descendants, group_members

ROOT = Path(__file__).resolve().parents[2]
# Says it is ready, then waits; on SIGTERM says so and leaves.
READY_THEN_WAIT = textwrap.dedent(
    """
    import signal, sys, time
    def bye(signum, frame):
        print("terminated", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    print("worker ready.", flush=True)
    time.sleep(600)
    """
)
# Starts a helper that ignores SIGTERM (as a pool process might), prints its pid, then waits.
WITH_HELPER = textwrap.dedent(
    """
    import subprocess, sys, time
    helper = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    print("helper", helper.pid, flush=True)
    time.sleep(600)
    """
)
# Starts a ProcessGroup of its own and prints its pid; then the test kills this parent.
PARENT = textwrap.dedent(
    """
    import sys, time
    from demo.processes import ProcessGroup
    child = ProcessGroup("orphan", [sys.executable, "-c", "import time; time.sleep(600)"]).start()
    print(child.process.pid, flush=True)
    time.sleep(600)
    """
)


def python(code):
    return [sys.executable, "-c", code]


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def started():
    """``started(group)``: start it; whatever happens, nothing of it is left after the test."""
    groups = []

    def start(group):
        groups.append(group)
        return group.start()

    yield start
    for group in groups:
        group.kill()


def test_ready_line_stop_and_restart_append_to_the_log(tmp_path, started):
    log = tmp_path / "worker.log"
    worker = started(ProcessGroup("worker", python(READY_THEN_WAIT), log_path=log))
    worker.wait_for_log(b" ready.", timeout=10)
    worker.stop(grace=5)
    assert not worker.running() and worker.members() == []
    assert b"terminated" in worker.output()

    worker.start()  # again: the log is appended to, readiness is this run's
    worker.wait_for_log(b" ready.", timeout=10)
    worker.kill()
    assert worker.process.returncode == -signal.SIGKILL
    text = log.read_text()
    assert text.count("===== worker started ") == 2 and text.count("worker ready.") == 2
    assert worker.log_tail(2).splitlines()[-1] == "worker ready."


def test_waiting_fails_when_the_command_exits_or_never_says_it_is_ready(tmp_path, started):
    quitter = started(ProcessGroup("quitter", python("raise SystemExit(3)"), log_path=tmp_path / "q.log"))
    with pytest.raises(ProcessFailed, match="exited with 3"):
        quitter.wait_for_log(b" ready.", timeout=10)
    silent = started(ProcessGroup("silent", python("import time; time.sleep(600)"), log_path=tmp_path / "s.log"))
    with pytest.raises(ProcessFailed, match="not ready after 0.5s"):
        silent.wait_for_log(b" ready.", timeout=0.5)


def test_a_running_command_is_not_started_twice(started):
    sleeper = started(ProcessGroup("sleeper", python("import time; time.sleep(600)")))
    with pytest.raises(RuntimeError, match="already running"):
        sleeper.start()


@pytest.mark.parametrize("signal_group", [False, True])
def test_stop_kills_what_the_stop_signal_leaves_of_the_group(tmp_path, started, signal_group):
    family = started(
        ProcessGroup("family", python(WITH_HELPER), log_path=tmp_path / "f.log", signal_group=signal_group)
    )
    family.wait_for_log(b"helper", timeout=10)
    helper = int(family.output().split()[1])
    assert set(family.members()) == {family.process.pid, helper}
    assert descendants(family.process.pid) == {helper}
    started_stopping = time.monotonic()
    family.stop(grace=1)
    assert time.monotonic() - started_stopping < 5
    assert not alive(family.process.pid) and not alive(helper)
    assert group_members(family.pgid) == []


def test_kill_ends_the_whole_group_at_once(tmp_path, started):
    family = started(ProcessGroup("family", python(WITH_HELPER), log_path=tmp_path / "f.log"))
    family.wait_for_log(b"helper", timeout=10)
    helper = int(family.output().split()[1])
    family.kill()
    wait_until(lambda: not alive(helper))
    assert family.members() == []


def test_a_child_dies_with_its_parent(tmp_path):
    parent = subprocess.Popen(python(PARENT), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()  # no clean-up: the kernel tells the child (PR_SET_PDEATHSIG)
        parent.wait()
        wait_until(lambda: not alive(child))
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
