"""Long-lived commands, each leading a process group of its own; and a look at processes (Linux ``/proc``).

``rundemo``'s supervisor (``demo.supervisor``) runs the demo's workers,
beat, sender and web server as ``ProcessGroup``s, and the end-to-end tests
their Celery workers. A ``ProcessGroup``:

- starts its command as the leader of a new process group, so that what
  the command starts in turn (a worker's pool) can be found and stopped
  with it; its output is appended to a log file, under a line saying when
  it started, and a readiness line can be waited for there;
- is asked to stop with its own signal (to the leader, or to the whole
  group), and whatever of its group is still there after a grace period
  is killed; or is killed at once, as a crash would; and can be started
  again afterwards, appending to the same log;
- gets SIGTERM if the process that started it dies without cleaning up
  (Linux ``PR_SET_PDEATHSIG``).

Nothing here needs Django: the tests import it as well.
"""
import contextlib
import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

#: The signals that ask a supervisor to stop. They are held while a child
#: is started, and the child takes them again before its command runs.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1
DEAD_STATES = ("Z", "X")  # zombie, dead: gone but for the record


class ProcessFailed(Exception):
    """A command exited, or did not say it was ready, while it was waited for."""


# --- looking at processes ------------------------------------------------------


def _stat(pid):
    """``(state, ppid, pgid)`` of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields follow the last ")".
    state, ppid, pgid = stat.rpartition(")")[2].split()[:3]
    return state, int(ppid), int(pgid)


def _live_processes():
    """``(pid, ppid, pgid)`` of every live (not zombie) process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(entry.name)
            if stat and stat[0] not in DEAD_STATES:
                yield int(entry.name), stat[1], stat[2]


def alive(pid):
    """Is ``pid`` a running process (not gone, not a zombie)?"""
    stat = _stat(pid)
    return stat is not None and stat[0] not in DEAD_STATES


def descendants(pid):
    """Pids of every live process below ``pid``."""
    children = {}
    for child, parent, _ in _live_processes():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def group_members(pgid):
    """Pids of the live (not zombie) processes in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []
    except PermissionError:  # a member runs as another user: the group exists
        pass
    if not Path("/proc").is_dir():
        return [pgid]
    return [pid for pid, _, group in _live_processes() if group == pgid]


# --- running a command ---------------------------------------------------------


def _prepare_child():
    """In the child, before exec: take stop signals again, and get SIGTERM if the parent dies (Linux)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ProcessGroup:
    """One command, run as the leader of a process group of its own.

    Its output is appended to ``log_path`` (discarded without one).
    ``stop_signal`` is how it is asked to stop: sent to the leader only, so
    that it ends its helpers the way it knows best, or with ``signal_group``
    to every process of the group. ``process`` is the leader's ``Popen``,
    kept once it has exited (for its ``returncode``).
    """

    def __init__(
        self, name, argv, *, log_path=None, cwd=None, env=None, stop_signal=signal.SIGTERM, signal_group=False
    ):
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path) if log_path else None
        self.cwd, self.env = cwd, env
        self.stop_signal, self.signal_group = stop_signal, signal_group
        self.process = None
        self._log_offset = 0  # where this run's output starts in the log

    @property
    def pgid(self):
        """The leader's pid, which is its group's id."""
        return self.process.pid

    def running(self):
        """Is the leader started and not exited?"""
        return self.process is not None and self.process.poll() is None

    def start(self):
        """Start the command (again, once it has stopped); return ``self``."""
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.process.pid})")
        # A stop signal whose handler raises between the fork and the
        # bookkeeping would lose the child: hold stop signals until it is recorded.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            with self._output() as output:
                self.process = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_prepare_child,
                )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return self

    @contextlib.contextmanager
    def _output(self):
        """The log, opened for appending under a line saying when this run started."""
        if self.log_path is None:
            yield subprocess.DEVNULL
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== {self.name} started {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
            log.flush()
            self._log_offset = log.tell()
            yield log

    def output(self):
        """What the command wrote to its log since it was last started."""
        if self.log_path is None:
            raise ValueError(f"{self.name} has no log")
        return self.log_path.read_bytes()[self._log_offset:]

    def wait_for_log(self, text, timeout, poll=0.2):
        """Wait until the command writes ``text`` (bytes) to its log; ``ProcessFailed`` if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProcessFailed(f"exited with {self.process.returncode}")
            if text in self.output():
                return
            time.sleep(poll)
        raise ProcessFailed(f"not ready after {timeout}s")

    def log_tail(self, lines=15):
        """The last ``lines`` lines of the log ("" without one)."""
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def members(self):
        """Pids of the group's live processes (an exited leader is reaped first, so it does not count)."""
        if self.process is None:
            return []
        self.process.poll()
        return group_members(self.pgid)

    def send_signal(self, signum, *, group=False):
        """Send ``signum`` to the leader, or to every process of the group; nothing if they are gone."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.pgid, signum)
            else:
                self.process.send_signal(signum)

    def terminate(self):
        """Ask the command to stop (its ``stop_signal``), without waiting."""
        if self.running():
            self.send_signal(self.stop_signal, group=self.signal_group)

    def kill(self):
        """SIGKILL the whole group at once, as a crash or the kernel's OOM killer would, and reap the leader."""
        if self.process is None:
            return
        self.send_signal(signal.SIGKILL, group=True)
        self.process.wait()

    def stop(self, grace=10.0):
        """Ask the command to stop, wait up to ``grace`` seconds for its group to end, then kill what is left."""
        stop_all([self], grace)


def stop_all(groups, grace, *, cut_short=None):
    """Stop every group at once: ask each (in the order given), wait, kill what is left.

    Each gets its own stop signal; then for up to ``grace`` seconds (less
    when ``cut_short()`` turns true: a second Ctrl-C), they are given time
    to end, helpers included; whatever of any group is still there is
    killed. Returns once no process of any group is left, or what is left
    has been sent SIGKILL (which cannot be ignored) and has had five
    seconds to go.
    """
    groups = list(groups)
    for group in groups:
        group.terminate()
    deadline = time.monotonic() + grace
    while _any_alive(groups) and time.monotonic() < deadline and not (cut_short and cut_short()):
        time.sleep(0.1)
    for group in groups:
        if group.members():
            group.send_signal(signal.SIGKILL, group=True)
    for group in groups:
        if group.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                group.process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while _any_alive(groups) and time.monotonic() < deadline:
        time.sleep(0.05)


def _any_alive(groups):
    return any(group.members() for group in groups)
