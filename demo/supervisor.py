"""Run several long-lived commands as one: start them, watch them, stop them all.

``rundemo`` runs the web server, the workers, beat and the demo sender
under one ``Supervisor``, so that one Ctrl-C stops everything and leaves
no process behind. Each child is a ``demo.processes.ProcessGroup``: it
leads its own process group, is asked to stop with its own signal, and
whatever of its group (a worker's pool processes...) is still there after
a grace period is killed. On Linux each child is also told to stop if the
supervisor itself dies without cleaning up.
"""
import signal
import time
from pathlib import Path

from .processes import STOP_SIGNALS, ProcessGroup, stop_all

#: What asks a Celery worker to stop now: a "cold" shutdown, which ends its
#: pool without waiting for running tasks (SIGTERM would wait for them).
WORKER_STOP_SIGNAL = signal.SIGQUIT


class StopRequested(Exception):
    """A stop signal (Ctrl-C, SIGTERM, SIGHUP) reached the supervisor."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


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
        child = ProcessGroup(name, argv, log_path=log_path, cwd=self.cwd, env=env, stop_signal=stop_signal)
        # On the list before it starts: a stop signal as soon as it runs
        # (``start`` holds them until then) must find it there.
        self.children.append(child)
        return child.start()

    def exited(self):
        """The first child that has exited, or None while all run."""
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
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
        """Ask every child to stop, the last started first; wait up to ``grace`` seconds; kill what is left.

        Returns once no process of any child's group is left (or what is
        left has been sent SIGKILL, which cannot be ignored). A stop signal
        meanwhile cuts the grace period short.
        """
        for signum in STOP_SIGNALS:
            if signum in self._saved_handlers:
                signal.signal(signum, self._hurry_up)
        stop_all(reversed(self.children), self.grace, cut_short=lambda: self._hurry)

    def _hurry_up(self, signum, frame):
        self._hurry = True
