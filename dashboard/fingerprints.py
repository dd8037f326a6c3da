"""A failure's cause, as a fingerprint: what failures of one bug share, whatever their data.

A fingerprint is three parts:

- the exception's type (``KeyError``, ``billing.errors.InvoiceError``);
- its message with the variable parts replaced by placeholders: UUIDs,
  URLs, e-mail addresses, timestamps and dates, memory addresses, hex ids,
  quoted strings and numbers (``"no invoice 4711 for 'ACME'"`` and ``"no
  invoice 12 for 'Initech'"`` both read ``no invoice <n> for <str>``);
- where it was raised: the innermost frame of the project's own code (not a
  library's), as its file (the last two parts of the path, so that a new
  release folder does not split a group) and function, without the line
  number (an unrelated edit above it moves the line, not the bug).

With no traceback, the type and message alone. The same exception type
raised at two call sites gives two fingerprints: two bugs.
"""
import hashlib
import re
from typing import NamedTuple

from . import tracebacks

#: Longest message kept (after normalising): a message of a megabyte still groups by its start.
MESSAGE_LIMIT = 300
#: Characters of a message read at all.
READ_LIMIT = 4_000
#: What a fingerprint's URL names it by: hex characters of its digest.
DIGEST_LENGTH = 16

# Order matters: the specific patterns go before the general ones that would eat their parts.
PLACEHOLDERS = [
    ("<uuid>", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("<url>", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")),
    ("<email>", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("<timestamp>", re.compile(
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    )),
    ("<time>", re.compile(r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b")),
    ("<address>", re.compile(r"\b0x[0-9a-fA-F]+\b")),
    ("<hex>", re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")),
    ("<str>", re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")),
    ("<n>", re.compile(r"(?<![\w<])[-+]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?(?![\w>])")),
]
SPACES = re.compile(r"\s+")
# "module.Type: message", or a bare "Type" (``raise KeyError`` has no message).
EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$", re.S)


class Fingerprint(NamedTuple):
    exception_type: str
    message: str  # normalised
    where: str  # "billing/invoices.py:make_invoice", or "" without a project frame

    @property
    def digest(self) -> str:
        """A short, stable id of the three parts (the failure group's URL)."""
        text = "\x1f".join(self)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_LENGTH]


def normalise(message: str) -> str:
    """``message`` with its variable parts replaced by placeholders, spaces collapsed, cut at ``MESSAGE_LIMIT``."""
    text = message[:READ_LIMIT]
    for placeholder, pattern in PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    text = SPACES.sub(" ", text).strip()
    return text[:MESSAGE_LIMIT]


def short_path(path: str) -> str:
    """The last two parts of a frame's path (``billing/invoices.py``), whatever folder the release lives in."""
    parts = [part for part in re.split(r"[\\/]", path) if part]
    return "/".join(parts[-2:])


def split_exception(line: str) -> tuple[str, str]:
    """``(type, message)`` of a traceback's exception line; a line that names no type is all message."""
    match = EXCEPTION_LINE.match(line.strip())
    if match is None:
        return "", line
    return match["type"], match["message"] or ""


def fingerprint(traceback_text: str | None, exception_type: str = "", message: str = "") -> Fingerprint:
    """The fingerprint of a failure: from its traceback when it has one, else its stored type and message.

    ``exception_type`` and ``message`` (what Celery stores in the result:
    ``exc_type``, ``exc_message``) fill in what the traceback does not say.
    """
    parsed = tracebacks.parse(traceback_text) if traceback_text and traceback_text.strip() else None
    where = ""
    if parsed is not None:
        if parsed.frames:
            parsed_type, parsed_message = split_exception(parsed.exception)
            exception_type, message = parsed_type or exception_type, parsed_message or message
        elif not exception_type:
            exception_type, message = split_exception(parsed.exception.splitlines()[-1])
        project = parsed.project_frames
        if project:
            where = f"{short_path(project[-1].path)}:{project[-1].function}"
    return Fingerprint(exception_type.strip()[:200], normalise(message or ""), where)
