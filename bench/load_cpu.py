"""Where the machine's CPU went during ``bench/load.py``'s phases (Linux ``/proc``).

The machine is small and shared: a p95 is only readable beside how busy
the CPUs were and who kept them busy. A thread samples, once a second,
the machine's busy time (``/proc/stat``) and the CPU seconds of each named
set of processes (the bench's process groups, and PostgreSQL's processes,
other users' backends included: the server is shared). Each process's own
time, its last figure kept once it has gone, so a process that ends
between two samples counts what it had used a second before (one shorter
than a second is missed: none of the bench's are).
"""
import os
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid):
    """utime + stime of ``pid`` in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command name: state(1) ppid(2) ... utime(12) stime(13).
    return sum(int(value) for value in fields[11:13]) / TICKS


def _machine_seconds():
    """``(busy, total)`` CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def _postgres_pids():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    yield int(entry.name)
            except OSError:
                continue


class CpuSampler:
    """``groups``: name -> a callable giving the pids it covers now; ``postgres`` is added."""

    def __init__(self, groups, interval=1.0):
        self.groups = {**groups, "postgres (whole server)": lambda: list(_postgres_pids())}
        self.interval = interval
        self.samples = []  # (wall time, machine busy, machine total, {group: seconds})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._seen = {}  # (group, pid) -> the last seconds seen: a process gone keeps its figure

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self):
        busy, total = _machine_seconds()
        by_group = {}
        for name, pids in self.groups.items():
            seconds = 0.0
            for pid in pids():
                now = _process_seconds(pid)
                self._seen[(name, pid)] = max(now, self._seen.get((name, pid), 0.0))
            for (group, _pid), value in self._seen.items():
                if group == name:
                    seconds += value
            by_group[name] = seconds
        self.samples.append((time.time(), busy, total, by_group))

    def between(self, start, end):
        """``(machine busy share, {group: CPU seconds})`` from the samples nearest ``start`` and ``end``."""
        if len(self.samples) < 2:
            return None
        first = min(self.samples, key=lambda sample: abs(sample[0] - start))
        last = min(self.samples, key=lambda sample: abs(sample[0] - end))
        if last[0] <= first[0]:
            return None
        share = (last[1] - first[1]) / max(last[2] - first[2], 1e-9)
        return share, {name: last[3][name] - first[3].get(name, 0.0) for name in last[3]}, last[0] - first[0]
