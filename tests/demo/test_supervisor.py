"""The supervisor: starts children in their own groups and leaves no process behind."""
import os
import signal
import sys
import textwrap
import time

import pytest

from demo.processes import alive, group_members
from demo.supervisor import StopRequested, Supervisor

# A child that starts a grandchild which ignores SIGTERM, prints both pids, then waits.
STUBBORN_FAMILY = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    grandchild = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    print("pids", grandchild.pid, flush=True)
    time.sleep(600)
    """
)
# A child that stops cleanly on SIGTERM and says so.
POLITE = textwrap.dedent(
    """
    import signal, sys, time
    def bye(signum, frame):
        print("stopped cleanly", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    print("ready", flush=True)
    time.sleep(600)
    """
)


def wait_for_text(path, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_stop_leaves_no_process_behind(tmp_path):
    with Supervisor(log_dir=tmp_path, grace=1) as supervisor:
        child = supervisor.start("family", [sys.executable, "-c", STUBBORN_FAMILY])
        grandchild = int(wait_for_text(tmp_path / "family.log", "pids").split("pids")[1].split()[0])
        assert alive(child.process.pid) and alive(grandchild)
        assert set(group_members(child.pgid)) == {child.process.pid, grandchild}
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert not alive(child.process.pid) and not alive(grandchild)
    assert group_members(child.pgid) == []


def test_children_get_their_own_stop_signal_first(tmp_path):
    with Supervisor(log_dir=tmp_path, grace=5) as supervisor:
        supervisor.start("polite", [sys.executable, "-c", POLITE])
        wait_for_text(tmp_path / "polite.log", "ready")
    assert "stopped cleanly" in (tmp_path / "polite.log").read_text()


def test_stop_signals_raise_inside_and_handlers_come_back(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(StopRequested) as stopped, Supervisor(log_dir=tmp_path) as supervisor:
        child = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted by the signal
    assert stopped.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
    assert not alive(child.process.pid)


def test_wait_returns_the_child_that_exited(tmp_path):
    with Supervisor(log_dir=tmp_path) as supervisor:
        supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"])
        quitter = supervisor.start("quitter", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"])
        assert supervisor.wait(timeout=15) is quitter
        assert quitter.process.returncode == 3
        assert "bye" in quitter.log_tail()
        assert supervisor.wait(timeout=0.1) is quitter
