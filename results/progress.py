"""A progress line for long management commands: a bar on a terminal, a plain line every few seconds elsewhere."""
import time

#: Seconds between two plain lines when the output is not a terminal (a log, CI).
PLAIN_EVERY = 5.0


class Progress:
    """``progress(done)`` after each step; ``finish(done)`` once at the end.

    On a terminal: one line redrawn in place (a bar, rows done of the total,
    the rate and the time left); elsewhere a plain line every
    ``PLAIN_EVERY`` seconds, so logs stay readable.
    """

    def __init__(self, stream, total, verb="counted"):
        self.stream, self.total, self.verb = stream, max(total, 1), verb
        self.started = self.last_line = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done):
        now = time.monotonic()
        rate = done / max(now - self.started, 1e-9)
        left = max(self.total - done, 0) / rate if rate else 0
        text = f"{done:,} of ~{self.total:,} rows, {rate:,.0f} rows/s, {left:,.0f} s left"
        if self.tty:
            filled = int(30 * min(done / self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}   ")
            self.stream.flush()
        elif now - self.last_line >= PLAIN_EVERY:
            self.stream.write(text + "\n")
            self.last_line = now

    def finish(self, done):
        elapsed = time.monotonic() - self.started
        if self.tty:
            self.stream.write("\n")
        self.stream.write(
            f"{done:,} rows {self.verb} in {elapsed:.1f} s ({done / max(elapsed, 1e-9):,.0f} rows/s)\n")
