"""Run several long-lived commands as one: start them, watch them, stop them all.

``rundemo`` runs the web server, the workers, beat and the demo sender
under one ``Supervisor``, so that one Ctrl-C stops everything and leaves
no process behind. Each child leads its own process group: the child is asked
to stop, and whatever of its group (a worker's pool processes...) is
still there after a grace period is killed. On Linux each child is also
told to stop if the supervisor itself dies without cleaning up.
"""
import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: What asks a Celery worker to stop now: a "cold" shutdown, which ends its
#: pool without waiting for running tasks (SIGTERM would wait for them).
WORKER_STOP_SIGNAL = signal.SIGQUIT
PR_SET_PDEATHSIG = 1


class StopRequested(Exception):
    """A stop signal (Ctrl-C, SIGTERM, SIGHUP) reached the supervisor."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path | None
    stop_signal: int

    @property
    def pgid(self):
        """The child leads its own process group, whose id is its pid."""
        return self.process.pid

    def log_tail(self, lines=15):
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _prepare_child():
    """In the child, before exec: take stop signals again, and get SIGTERM if the supervisor dies (Linux)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def group_members(pgid):
    """Pids of the live (not zombie) processes in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:
        pass
    proc = Path("/proc")
    if not proc.is_dir():
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        state, _ppid, group = stat.rpartition(")")[2].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


class Supervisor:
    """Starts children in their own process groups and stops every one of them.

    Use it as a context manager: inside, Ctrl-C, SIGTERM and SIGHUP raise
    ``StopRequested``; on the way out every child group is stopped, even
    after an error. A second Ctrl-C while stopping kills at once.
    """

    def __init__(self, log_dir=None, grace=10.0, cwd=None):
        self.log_dir = Path(log_dir) if log_dir else None
        self.grace = grace
        self.cwd = cwd
        self.children = []
        self._saved_handlers = {}
        self._hurry = False

    def __enter__(self):
        for signum in STOP_SIGNALS:
            self._saved_handlers[signum] = signal.signal(signum, self._request_stop)
        return self

    def __exit__(self, *exc_info):
        try:
            self.stop()
        finally:
            for signum, handler in self._saved_handlers.items():
                signal.signal(signum, handler)
        return False

    @staticmethod
    def _request_stop(signum, frame):
        raise StopRequested(signum)

    def start(self, name, argv, *, env=None, stop_signal=signal.SIGTERM):
        """Start ``argv``; its output goes to ``<log_dir>/<name>.log`` (or is discarded)."""
        log_path = self.log_dir / f"{name}.log" if self.log_dir else None
        if log_path:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(log_path, "ab")
            output.write(f"\n===== {name} started {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
            output.flush()
        else:
            output = subprocess.DEVNULL
        # A stop signal between the fork and the bookkeeping would lose the
        # child: hold stop signals until it is on the list.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_prepare_child,
            )
            child = Child(name, process, log_path, stop_signal)
            self.children.append(child)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            if log_path:
                output.close()
        return child

    def exited(self):
        """The first child that has exited, or None while all run."""
        for child in self.children:
            if child.process.poll() is not None:
                return child
        return None

    def wait(self, timeout=None, poll=0.25):
        """Wait until a child exits (returned) or ``timeout`` seconds pass (None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            child = self.exited()
            if child:
                return child
            time.sleep(poll)
        return None

    def stop(self):
        """Ask every child to stop, wait up to ``grace`` seconds, kill what is left.

        Each child gets its own ``stop_signal``, so that it stops its helpers
        (a worker its pool) the way it knows best; then any process left in
        its group, helpers included, is killed. Returns once no process of any child's group is left (or what is left
        has been sent SIGKILL, which cannot be ignored).
        """
        for signum in STOP_SIGNALS:
            if signum in self._saved_handlers:
                signal.signal(signum, self._hurry_up)
        for child in reversed(self.children):
            if child.process.poll() is None:
                self._signal_leader(child, child.stop_signal)
        deadline = time.monotonic() + self.grace
        while self._alive() and time.monotonic() < deadline and not self._hurry:
            time.sleep(0.1)
        for child in self.children:
            if group_members(child.pgid):
                self._signal_group(child, signal.SIGKILL)
        for child in self.children:
            try:
                child.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while self._alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _hurry_up(self, signum, frame):
        self._hurry = True

    def _alive(self):
        for child in self.children:
            child.process.poll()
        return [child for child in self.children if group_members(child.pgid)]

    @staticmethod
    def _signal_leader(child, signum):
        try:
            child.process.send_signal(signum)
        except ProcessLookupError:
            pass

    @staticmethod
    def _signal_group(child, signum):
        try:
            os.killpg(child.pgid, signum)
        except ProcessLookupError:
            pass
