"""How task values read on a page: durations, dates, status badges, short ids.

Plain functions, used by the tables and (through ``dashboard_tags``) by the
templates, so a value looks the same everywhere it appears.
"""
from datetime import timedelta

from celery import states
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

SHORT_ID_LENGTH = 8

# Badge colour family of each status; custom states fall back to "other".
STATUS_TONES = {
    states.SUCCESS: "ok",
    states.FAILURE: "bad",
    # Stopped before or while running (revoked, rejected by a worker): not the task's own error, and a colour
    # of their own where the charts stack them on the failures.
    states.REVOKED: "stopped",
    states.REJECTED: "stopped",
    states.RETRY: "warn",
    states.STARTED: "busy",
    states.RECEIVED: "wait",
    states.PENDING: "wait",
    "IGNORED": "muted",
}


NO_DATE = mark_safe('<span class="muted">—</span>')


def status_badge(status):
    tone = STATUS_TONES.get(status, "other")
    return format_html('<span class="badge badge-{}">{}</span>', tone, status)


#: Badge tone of each failure group state (``reports.FailureState``): the ones to look at in red.
FAILURE_STATE_TONES = {"new": "bad", "regressed": "bad", "ongoing": "warn", "resolved": "ok", "ignored": "muted"}


def failure_state_badge(state):
    return format_html('<span class="badge badge-{}">{}</span>', FAILURE_STATE_TONES.get(state, "other"), state)


#: Badge tone of each bulk retry state (``Redrive.State``).
REDRIVE_STATE_TONES = {"queued": "other", "running": "warn", "done": "ok", "cancelled": "muted", "failed": "bad"}


def redrive_state_badge(state):
    return format_html('<span class="badge badge-{}">{}</span>', REDRIVE_STATE_TONES.get(state, "other"), state)


def local_datetime(value):
    """``value`` in the current time zone as ``YYYY-MM-DD HH:MM:SS``; '' for None."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def datetime_cell(value):
    """A date as people read it: how long ago ("3 min ago"), the full date in the page's time zone on hover.

    ``data-relative`` lets dashboard.js keep the age current on a page left
    open. Built without ``format_html``: a table renders hundreds of these,
    and neither ISO dates nor zone abbreviations hold a character that HTML
    would need escaped.
    """
    if value is None:
        return NO_DATE
    local = timezone.localtime(value)
    absolute = local.strftime("%Y-%m-%d %H:%M:%S %Z")
    return mark_safe(
        f'<time datetime="{value.isoformat()}" title="{absolute}" data-relative>{relative_time(value)}</time>'
    )


def relative_time(value, now=None):
    """How long ago ``value`` was, in the unit that fits: ``just now``, ``42 s ago``, ``3 min ago``, ``5 h ago``,
    ``12 d ago`` (``in 3 min`` ahead of ``now``). dashboard.js writes the same words as the page stays open."""
    seconds = ((now or timezone.now()) - value).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < 10:
        return "just now"
    if seconds < 60:
        amount = f"{int(seconds)} s"
    elif seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 2 * 86400:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} d"
    return f"in {amount}" if ahead else f"{amount} ago"


def duration(delta):
    """A ``timedelta`` as a short human figure: ``850 ms``, ``12.4 s``, ``3 min 05 s``, ``2 h 07 min``."""
    if delta is None:
        return ""
    seconds = delta.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{sign}{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{sign}{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours:02d} h"


def milliseconds(value):
    """A duration in milliseconds (the statistics' unit) as ``duration`` writes it; "—" when unknown."""
    if value is None:
        return "—"
    return duration(timedelta(milliseconds=value))


def percent(fraction, digits=1):
    """A fraction as a percentage, ``12.5 %``; "—" when unknown."""
    if fraction is None:
        return "—"
    return f"{fraction * 100:.{digits}f} %"


def runtime(task):
    """How long the task ran: ``date_done - date_started``, once it is finished."""
    if task.date_started is None or task.status not in states.READY_STATES:
        return None
    return task.date_done - task.date_started


def queue_wait(task):
    """How long the task waited for a worker: ``date_started - date_created``."""
    if task.date_started is None or task.date_created is None:
        return None
    return task.date_started - task.date_created


#: Past this many characters a name is likely cut by its column (``.cut``): it gets a copy button.
LONG_TEXT = 30


def cut_text(value):
    """A name that may not fit its column: cut with an ellipsis by the stylesheet, whole on hover and to copy."""
    if len(value) <= LONG_TEXT:
        return format_html('<span class="cut" title="{}">{}</span>', value, value)
    return format_html(
        '<span class="cut" title="{}">{}</span> <button type="button" class="copy" data-copy="{}" title="Copy" hidden>'
        'copy</button>', value, value, value,
    )


def short_id(value):
    return value if len(value) <= SHORT_ID_LENGTH + 1 else value[:SHORT_ID_LENGTH] + "…"


# A row stored with an empty id has no page (an id path needs a character):
# it is named in words, never linked (reversing its URL would raise NoReverseMatch).
EMPTY_ID = mark_safe('<span class="muted" title="Stored with an empty id: it has no page of its own">(empty id)</span>')


def id_link(value, url, short=True):
    """An id linking to ``url``, its page, with the full id on hover; an empty id as text, unlinked."""
    if not value:
        return EMPTY_ID
    return format_html('<a class="id" href="{}" title="{}">{}</a>', url, value, short_id(value) if short else value)
