"""Reading what the result backend stored, for people: safely, never failing.

Results, meta and group results are stored serialized with the content type
and encoding of the row (JSON by default; base64 for binary serializers).
They are decoded here with kombu, **never with pickle**: unpickling data
from the database would run whatever code it names, so pickled content is
shown as stored, with a note saying why. Arguments are stored as Celery
sent them: usually ``argsrepr``, a Python ``repr`` that Celery cuts at 1024
characters, ending it with ``...``.
"""
import ast
import binascii
import json
from base64 import b64decode
from dataclasses import dataclass

from kombu.exceptions import ContentDisallowed, DecodeError
from kombu.serialization import loads

# Serializers whose loaders only build plain data (no code runs).
SAFE_CONTENT_TYPES = {"application/json", "application/x-msgpack", "application/x-yaml"}
PICKLE_CONTENT_TYPE = "application/x-python-serialize"
# Celery's ``argsrepr`` / ``kwargsrepr`` limit, and the mark it leaves when cutting.
ARGSREPR_MAXSIZE = 1024
TRUNCATION_MARK = "..."


@dataclass
class Shown:
    """A stored value ready to show: ``text`` is what the page prints."""

    text: str
    pretty: bool = False  # text is indented JSON
    note: str = ""  # how the value was read, when that matters
    truncated: bool = False  # the value looks cut by the sender
    value: object = None  # the decoded value, when there is one
    decoded: bool = False
    cut: bool = False  # text was shortened for the page; the full text is a link away


def decode_stored(content, content_type, content_encoding):
    """``(value, note)``: the decoded content, or ``(None, reason)`` when it cannot be decoded."""
    if content is None:
        return None, ""
    if content_type == PICKLE_CONTENT_TYPE:
        return None, "Stored with pickle: not decoded, since unpickling stored data could run arbitrary code."
    if content_type not in SAFE_CONTENT_TYPES:
        return None, f"Stored as {content_type or 'an unknown type'}: shown as stored."
    try:
        raw = b64decode(content) if content_encoding == "binary" else content
        return loads(raw, content_type=content_type, content_encoding=content_encoding or "utf-8",
                     accept=SAFE_CONTENT_TYPES), ""
    except (ContentDisallowed, DecodeError, binascii.Error, ValueError, TypeError, RecursionError, Exception) as exc:
        # Exception too: a serializer library's own errors (yaml, msgpack).
        return None, f"Could not be decoded as {content_type} ({type(exc).__name__}): shown as stored."


def pretty(value):
    """Indented JSON for data that JSON can hold; None for anything else."""
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=isinstance(value, dict))
    except (TypeError, ValueError, RecursionError):
        return None


def show_value(content, content_type, content_encoding, limit):
    """A stored result or meta, decoded and indented when possible, else as stored."""
    if content is None:
        return Shown(text="", note="Nothing stored.")
    value, note = decode_stored(content, content_type, content_encoding)
    if not note:
        text = pretty(value)
        if text is not None:
            return _cut(Shown(text=text, pretty=True, value=value, decoded=True), limit)
        return _cut(Shown(text=repr(value), value=value, decoded=True), limit)
    return _cut(Shown(text=content, note=note), limit)


def show_arguments(content, content_type, content_encoding, limit):
    """Task args or kwargs: pretty JSON when they parse, the stored text otherwise.

    The stored value is the serialized ``argsrepr`` (a Python repr as a
    string) or the arguments themselves. A repr is turned into JSON when it
    evaluates as a Python literal; when it ends with Celery's ``...`` it was
    cut and is flagged.
    """
    if content is None:
        return Shown(text="", note="Not stored (result_extended was off when the task ran).")
    value, note = decode_stored(content, content_type, content_encoding)
    if note:
        # Older rows (or other writers) may hold the repr as plain text.
        value = content if content_type != PICKLE_CONTENT_TYPE else None
        if value is None:
            return _cut(Shown(text=content, note=note), limit)
    if isinstance(value, str):
        return _cut(_show_repr(value), limit)
    text = pretty(value)
    if text is None:
        return _cut(Shown(text=repr(value)), limit)
    return _cut(Shown(text=text, pretty=True, value=value, decoded=True), limit)


def _show_repr(text):
    truncated = looks_truncated(text)
    if not truncated and len(text) <= 50_000:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = None
        else:
            shown = pretty(list(value) if isinstance(value, tuple) else value)
            if shown is not None:
                return Shown(text=shown, pretty=True, value=value, decoded=True)
    note = "Stored as the sender's repr (argsrepr), shown as is."
    if truncated:
        note = (
            f"Looks truncated: Celery cuts argument reprs at {ARGSREPR_MAXSIZE} characters and ends them "
            f"with '{TRUNCATION_MARK}'. The full arguments were not stored."
        )
    return Shown(text=text, note=note, truncated=truncated)


def looks_truncated(text):
    """Does ``text`` end the way Celery ends an ``argsrepr`` it cut?"""
    return text.endswith(TRUNCATION_MARK) and len(text) >= ARGSREPR_MAXSIZE - 8


def _cut(shown, limit):
    if limit and len(shown.text) > limit:
        shown.text = shown.text[:limit]
        shown.cut = True
    return shown


# --- result tuples (children, group members) ----------------------------------


@dataclass
class ResultRef:
    """One result named in a result tuple: a task, or a group with members."""

    id: str
    members: list | None = None  # None for a task; the member refs for a group

    @property
    def is_group(self):
        return self.members is not None


def parse_result_tuple(item):
    """A ``ResultRef`` from ``AsyncResult.as_tuple()`` / ``GroupResult.as_tuple()`` data, or None.

    A task is ``[[id, parent], null]``; a group ``[[id, parent], [member, ...]]``
    (or, at the top of a stored group, ``[id, [member, ...]]``).
    """
    if not isinstance(item, (list, tuple)) or len(item) != 2:
        return None
    head, rest = item
    if isinstance(head, (list, tuple)) and head and isinstance(head[0], str):
        result_id = head[0]
    elif isinstance(head, str):
        result_id = head
    else:
        return None
    if rest is None:
        return ResultRef(result_id)
    if isinstance(rest, (list, tuple)):
        return ResultRef(result_id, [ref for ref in map(parse_result_tuple, rest) if ref is not None])
    return ResultRef(result_id)


def task_ids_in(refs):
    """Every task id in ``refs``, nested groups flattened, in order."""
    ids = []
    for ref in refs:
        if ref.is_group:
            ids.extend(task_ids_in(ref.members))
        else:
            ids.append(ref.id)
    return ids
