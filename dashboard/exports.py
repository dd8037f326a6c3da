"""The task list as a file: CSV or JSON lines, streamed, exactly the list's rows in the list's order.

The rows come from the same FilterSet, selector and sort as the list
(``views.tasks.TaskExportView``), read in chunks of ``CHUNK`` rows so that
memory stays flat however many there are: by the list's own cursor
paginator in its newest-first order, by offset for the other sorts. At
most ``EXPORT_LIMIT`` rows; a file the bound cut says so in its response
header (``X-Export-Truncated``) and stays valid CSV or JSON lines (the rows
are whole, the cut falls between two).

Arguments, keyword arguments and results are decoded as the task page
decodes them (JSON, or the sender's ``argsrepr`` text); what the dashboard
never decodes (pickle) or cannot is exported as stored.
"""
import csv
import io
import json

from . import decoding
from .conf import dashboard_setting
from .pagination import KeysetPaginator

CHUNK = 1_000
COLUMNS = ("task_id", "task_name", "status", "worker", "periodic_task_name", "date_created", "date_started",
           "date_done", "runtime_seconds", "queue_wait_seconds", "args", "kwargs", "result", "exception")
#: The columns an export reads (the list's, and the stored values it decodes).
FIELDS = ("id", "task_id", "task_name", "status", "worker", "periodic_task_name", "date_created", "date_started",
          "date_done", "task_args", "task_kwargs", "result", "traceback", "content_type", "content_encoding")
NEWEST_FIRST = ("-date_done", "-id")


def limit() -> int:
    return dashboard_setting("EXPORT_LIMIT")


def is_cut(queryset) -> bool:
    """Does ``queryset`` hold more than ``limit()`` rows? Known before the first byte is sent (a header says it)."""
    return queryset.order_by()[limit():limit() + 1].exists()


def rows(queryset, ordering):
    """The queryset's rows in ``ordering``, at most ``limit()``, read ``CHUNK`` at a time."""
    wanted = limit()
    queryset = queryset.only(*FIELDS)
    if tuple(ordering) == NEWEST_FIRST:
        yield from _by_cursor(queryset, wanted)
    else:
        yield from _by_offset(queryset.order_by(*ordering), wanted)


def _by_cursor(queryset, wanted):
    """Chunks read as the list reads its pages: ``KeysetPaginator.query`` past the last row sent."""
    pages, cursor, sent = KeysetPaginator(queryset, CHUNK), None, 0
    while sent < wanted:
        rows = list(pages.query(cursor))  # a chunk, and one row more when there are more
        chunk = rows[:min(CHUNK, wanted - sent)]
        yield from chunk
        sent += len(chunk)
        if len(rows) <= CHUNK:
            return
        cursor = pages.cursor_at("after", chunk[-1])


def _by_offset(queryset, wanted):
    for start in range(0, wanted, CHUNK):
        chunk = list(queryset[start:min(start + CHUNK, wanted)])
        yield from chunk
        if len(chunk) < CHUNK:
            return


def record(task) -> dict:
    """One task as the export writes it."""
    encoding = (task.content_type, task.content_encoding)
    return {
        "task_id": task.task_id,
        "task_name": task.task_name,
        "status": task.status,
        "worker": task.worker,
        "periodic_task_name": task.periodic_task_name,
        "date_created": _iso(task.date_created),
        "date_started": _iso(task.date_started),
        "date_done": _iso(task.date_done),
        "runtime_seconds": _seconds(task.date_started, task.date_done),
        "queue_wait_seconds": _seconds(task.date_created, task.date_started),
        "args": _decoded(task.task_args, *encoding),
        "kwargs": _decoded(task.task_kwargs, *encoding),
        "result": _decoded(task.result, *encoding),
        "exception": _last_line(task.traceback),
    }


def _decoded(content, content_type, content_encoding):
    value, note = decoding.decode_stored(content, content_type, content_encoding)
    return content if note else value


def _iso(moment):
    return moment.isoformat() if moment else None


def _seconds(earlier, later):
    if earlier is None or later is None:
        return None
    return round((later - earlier).total_seconds(), 6)


def _last_line(traceback):
    lines = [line for line in (traceback or "").splitlines() if line.strip()]
    return lines[-1] if lines else None


def _json(value):
    return json.dumps(value, ensure_ascii=False, default=str)


def jsonl_lines(tasks):
    """One JSON object per line."""
    for task in tasks:
        yield _json(record(task)) + "\n"


def csv_lines(tasks):
    """A header line, then one line per task; structured values (args, kwargs, results) as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed():
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flushed()
    for task in tasks:
        values = record(task)
        writer.writerow([
            "" if values[column] is None else
            values[column] if isinstance(values[column], str) else _json(values[column])
            for column in COLUMNS
        ])
        yield flushed()


FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv", csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", "jsonl", jsonl_lines),
}
