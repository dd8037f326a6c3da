"""Running chords as operators read them: progress, header states, age, stuck or not.

A ``ChordCounter`` row lives while its chord runs: created with the header
size, counted down as header tasks return, deleted when the body is sent.
The counter stores no date, so a chord's age is read from its header tasks
(the earliest ``date_created`` among their stored rows).

Once the header is complete, the counter is *firing* (``fired_at``) until
the body is published, normally for milliseconds. One firing for longer than
``CHORD_FIRING_TIMEOUT`` lost its worker in between: the sweeper
(``results.sweeping``: the periodic task, or this page's button) sends its
body.

A chord is flagged **stuck** when it is older than ``CHORD_STUCK_AFTER``
seconds and none of its header tasks is still to come: every one is ready
(or has no stored row at all, expired or deleted), yet the counter is still
there, so nothing will ever send the body.
"""
import json
from dataclasses import dataclass, field
from datetime import timedelta

from celery import states
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from results.conf import chord_firing_timeout

from . import decoding, formatting, selectors
from .conf import dashboard_setting

HEADER_TASKS_LISTED = 20


@dataclass
class ChordProgress:
    group_id: str
    size: int
    remaining: int
    breakdown: list = field(default_factory=list)  # (status, n, tone, share %)
    header: list = field(default_factory=list)  # (task_id, status or None), the first HEADER_TASKS_LISTED
    started: object = None  # earliest date_created of a stored header task
    age: timedelta | None = None
    stuck: str = ""  # why it is stuck; empty when it is not
    group_stored: bool = False  # its header group was saved: the group page has it
    note: str = ""  # anything else worth saying (unreadable sub_tasks...)
    firing_since: object = None  # when the header completed and the body was decided on
    firing_stuck: bool = False  # firing for longer than CHORD_FIRING_TIMEOUT: for the sweeper

    @property
    def done(self):
        return max(self.size - self.remaining, 0)

    @property
    def percent(self):
        return 100 * self.done / self.size if self.size else 0

    @property
    def age_text(self):
        return coarse_age(self.age)

    @property
    def header_cut(self):
        return self.size > len(self.header)


def coarse_age(age):
    """An age to the minute ("under a minute", "7 min", "2 h 05 min").

    The live page changes at most once a minute for it.
    """
    if age is None:
        return ""
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    return formatting.duration(timedelta(minutes=minutes))


def header_ids(counter):
    """The header task ids of ``counter`` (nested groups flattened), or None when unreadable."""
    try:
        sub_tasks = json.loads(counter.sub_tasks)
    except (TypeError, ValueError):
        return None
    if not isinstance(sub_tasks, list):
        return None
    refs = [ref for ref in map(decoding.parse_result_tuple, sub_tasks) if ref is not None]
    return decoding.task_ids_in(refs)


def running_chords():
    """``(chords, more)``: the progress of the oldest ``CHORDS_SHOWN`` counters, and whether there are more.

    Three queries whatever the number of chords: the counters, every header
    task of all of them at once, and which of their groups were saved.
    """
    limit = dashboard_setting("CHORDS_SHOWN")
    counters = selectors.chord_counters(limit)
    more = len(counters) > limit
    counters = counters[:limit]
    ids = {counter.pk: header_ids(counter) for counter in counters}
    rows = selectors.header_task_rows(task_id for task_ids in ids.values() for task_id in task_ids or ())
    stored = selectors.stored_group_ids(counter.group_id for counter in counters) if counters else set()
    now = timezone.now()
    chords = [progress(counter, ids[counter.pk], rows, now) for counter in counters]
    for counter, chord in zip(counters, chords, strict=True):
        firing(chord, counter, now)
    for chord in chords:
        chord.group_stored = chord.group_id in stored
    return chords, more


def firing(chord, counter, now):
    """Mark ``chord`` firing when its counter is: since when, and whether the sweeper should send its body."""
    if counter.fired_at is None:
        return
    chord.firing_since = counter.fired_at
    chord.firing_stuck = now - counter.fired_at > timedelta(seconds=chord_firing_timeout())
    if chord.firing_stuck:
        chord.stuck = _(
            "The header completed %(age)s ago, but its body was never confirmed sent (its worker was lost?): "
            "the sweeper sends it again."
        ) % {"age": coarse_age(now - counter.fired_at)}
    else:
        chord.stuck = ""


def progress(counter, task_ids, rows, now):
    """One chord's ``ChordProgress`` from its header ids and the stored rows of header tasks."""
    if task_ids is None:
        return ChordProgress(counter.group_id, counter.count, counter.count,
                             note=_("The counter's list of header tasks is not readable JSON."))
    task_ids = list(dict.fromkeys(task_ids))
    size = len(task_ids)
    counts, created = {}, []
    for task_id in task_ids:
        row = rows.get(task_id)
        status = row.status if row else None
        counts[status] = counts.get(status, 0) + 1
        if row and row.date_created is not None:
            created.append(row.date_created)
    missing = counts.pop(None, 0)
    breakdown = [
        (status, n, formatting.STATUS_TONES.get(status, "other"), 100 * n / size)
        for status, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    if missing:
        breakdown.append((_("no result yet"), missing, "wait", 100 * missing / size))
    chord = ChordProgress(
        counter.group_id,
        size,
        counter.count,
        breakdown=breakdown,
        header=[
            (task_id, rows[task_id].status if task_id in rows else None) for task_id in task_ids[:HEADER_TASKS_LISTED]
        ],
    )
    if created:
        chord.started = min(created)
        chord.age = now - chord.started
    chord.stuck = stuck_reason(chord, counts, missing)
    return chord


def stuck_reason(chord, counts, missing):
    """Why the chord will never call its body, or '' when it may still."""
    if chord.age is None or chord.age < timedelta(seconds=dashboard_setting("CHORD_STUCK_AFTER")):
        return ""
    if any(status not in states.READY_STATES for status in counts):
        return ""  # a header task is still queued, running or retrying
    ready = sum(counts.values())
    age = chord.age_text
    if not missing:
        return ngettext(
            "Its %(n)s header task is ready, yet the counter still waits for %(remaining)s after %(age)s: "
            "the body was never sent (a lost chord part?).",
            "All %(n)s header tasks are ready, yet the counter still waits for %(remaining)s after %(age)s: "
            "the body was never sent (a lost chord part?).",
            ready,
        ) % {"n": ready, "remaining": chord.remaining, "age": age}
    return ngettext(
        "%(missing)s header task has no stored result (expired, deleted or lost) and the rest are ready, "
        "after %(age)s: the counter cannot reach zero.",
        "%(missing)s header tasks have no stored result (expired, deleted or lost) and the rest are ready, "
        "after %(age)s: the counter cannot reach zero.",
        missing,
    ) % {"missing": missing, "age": age}
