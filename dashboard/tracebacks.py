"""Reading a Python traceback the way an operator does: the error first,
then the frames of the project's own code, library frames dimmed."""
import re
from dataclasses import dataclass, field

from .conf import dashboard_setting

FRAME_LINE = re.compile(r'^\s*File "(?P<path>[^"]*)", line (?P<line>\d+)(?:, in (?P<function>.*))?$')
CHAIN_MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


@dataclass
class Frame:
    path: str
    line: int
    function: str
    code: str = ""
    library: bool = False


@dataclass
class Traceback:
    exception: str  # the last exception line(s): what went wrong
    frames: list = field(default_factory=list)  # of the last exception in the chain
    chained: int = 0  # how many exceptions came before it in the chain
    text: str = ""

    @property
    def project_frames(self):
        return [frame for frame in self.frames if not frame.library]


def shown(text, limit) -> dict:
    """A stored traceback as ``dashboard/partials/traceback.html`` shows it: parsed, and whether it is cut."""
    return {
        "traceback": parse(text) if text else None,
        "traceback_cut": bool(text) and len(text) > limit,
        "text_limit": limit,
    }


def is_library_path(path):
    markers = dashboard_setting("LIBRARY_PATH_MARKERS")
    return any(marker in path for marker in markers)


def parse(text):
    """Split ``text`` into its final exception and that exception's frames.

    Anything that is not a Python traceback still comes back whole, as the
    ``exception`` (its last non-blank lines) and ``text``.
    """
    text = text or ""
    lines = text.rstrip().splitlines()
    chained = sum(1 for line in lines if line.strip() in CHAIN_MARKERS)
    start = max((i for i, line in enumerate(lines) if line.strip() in CHAIN_MARKERS), default=-1) + 1
    frames, last_frame_end = [], start
    i = start
    while i < len(lines):
        match = FRAME_LINE.match(lines[i])
        if match:
            frame = Frame(
                path=match["path"],
                line=int(match["line"]),
                function=(match["function"] or "").strip(),
                library=is_library_path(match["path"]),
            )
            # The source line, and any ^^^^ markers under it, follow the frame line.
            j = i + 1
            code = []
            while j < len(lines) and lines[j].startswith("    ") and not FRAME_LINE.match(lines[j]):
                code.append(lines[j].strip())
                j += 1
            frame.code = "\n".join(code)
            frames.append(frame)
            last_frame_end = j
            i = j
        else:
            i += 1
    tail = [line for line in lines[last_frame_end:] if line.strip()]
    exception = "\n".join(tail if frames else tail[-3:]).strip()
    return Traceback(exception=exception or text.strip()[-500:], frames=frames, chained=chained, text=text)
