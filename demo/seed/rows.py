"""Unsaved result rows that look like what the database backend stores for a busy shop's workers.

``generate_results`` yields ``TaskResult`` rows oldest first (with a
``GroupResult`` after the members of each group); each row's kind, worker,
state, dates, arguments, result and traceback are drawn from ``rng``.
"""
import json
from datetime import timedelta
from itertools import accumulate

from celery import states

from results.models import GroupResult, TaskResult

from .. import catalog
from .calls import CALLS, new_id
from .clock import TrafficClock
from .tracebacks import exception_payload, failure_traceback, retry_traceback

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
EMPTY_META = json.dumps({"children": []})
DEFAULT_DAYS = 7

GROUP_SHARE = 1 / 400  # chance that a row starts a group of tasks
GROUP_SIZES = (5, 30)
RECENT_SECONDS = 15 * 60  # tasks this young are often still in flight
RETRY_COUNTDOWNS = (10, 30, 90)


def generate_results(count, *, now, rng, days=DEFAULT_DAYS):
    """Yield ``count`` unsaved ``TaskResult`` rows, oldest first, with a ``GroupResult`` after each group."""
    clock = TrafficClock(now, days)
    kinds = catalog.TASK_KINDS
    cum_weights = list(accumulate(kind.weight for kind in kinds))
    groupable = [kind for kind in kinds if kind.groupable]
    made = 0
    while made < count:
        created = clock.at((made + rng.random()) / count)
        if rng.random() < GROUP_SHARE and count - made >= GROUP_SIZES[0]:
            kind = rng.choice(groupable)
            size = min(rng.randint(*GROUP_SIZES), count - made)
            members = [
                task_result(kind, created + timedelta(milliseconds=15 * i), now, rng) for i in range(size)
            ]
            yield from members
            yield group_result(members, created, rng)
            made += size
        else:
            kind = rng.choices(kinds, cum_weights=cum_weights)[0]
            yield task_result(kind, created, now, rng)
            made += 1


def task_result(kind, created, now, rng):
    """One unsaved ``TaskResult`` of ``kind`` first written at ``created``."""
    args, kwargs, args_repr, kwargs_repr, value = CALLS[kind.name](rng, created)
    key = args[0] if args else ""
    worker = rng.choice(kind.workers)
    runtime = timedelta(seconds=kind.runtime * rng.lognormvariate(0, 0.6))
    started = created + timedelta(seconds=rng.uniform(0.002, 0.04))
    status = draw_status(kind, (now - created).total_seconds(), rng)
    row = TaskResult(
        task_id=new_id(rng),
        task_name=kind.name,
        periodic_task_name=kind.periodic if kind.periodic and rng.random() < 0.9 else None,
        task_args=json.dumps(args_repr or repr(tuple(args))),
        task_kwargs=json.dumps(kwargs_repr or repr(kwargs)),
        worker=worker,
        status=status,
        content_type=CONTENT_TYPE,
        content_encoding=CONTENT_ENCODING,
        meta=EMPTY_META,
        date_created=created,
        date_started=started,
    )
    if status == states.SUCCESS:
        retries = _retries_before_success(kind, rng)
        row.date_started = started + sum((timedelta(seconds=RETRY_COUNTDOWNS[i]) for i in range(retries)), timedelta())
        row.date_done = row.date_started + runtime
        row.result = json.dumps(value)
    elif status == states.FAILURE:
        failure = rng.choice(kind.failures)
        row.date_done = started + runtime * rng.uniform(0.1, 1.0)
        row.result = json.dumps(exception_payload(failure.module, failure.qualname, failure.exc_args(key)))
        row.traceback = failure_traceback(kind, failure).format(key)
    elif status == states.RETRY:
        failure = rng.choice(kind.failures)
        countdown = rng.choice(RETRY_COUNTDOWNS)
        row.date_done = started + runtime * rng.uniform(0.1, 1.0)
        row.result = json.dumps(exception_payload(failure.module, failure.qualname, failure.exc_args(key)))
        row.traceback = retry_traceback(kind, failure, countdown).format(key)
    elif status == states.STARTED:
        row.date_done = started
        row.result = json.dumps({"pid": rng.randint(300, 65000), "hostname": worker})
    elif status == states.REVOKED:
        if rng.random() < 0.5:  # revoked while it waited in the queue
            row.date_started = None
            row.date_done = created
            reason = "revoked"
        else:  # terminated while it ran
            row.date_done = started + runtime * rng.uniform(0.1, 1.0)
            reason = "terminated"
        row.result = json.dumps(exception_payload("celery.exceptions", "TaskRevokedError", [reason]))
    else:  # PENDING: known to the backend, not picked up by a worker yet
        row.worker = None
        row.date_started = None
        row.date_done = created
        row.result = json.dumps(None)
    if row.date_done > now:  # would finish in the future: it is still running
        row.status = states.STARTED
        row.date_started = min(row.date_started or started, now)
        row.date_done = row.date_started
        row.result = json.dumps({"pid": rng.randint(300, 65000), "hostname": worker})
        row.traceback = None
    return row


def draw_status(kind, age_seconds, rng):
    """Mostly SUCCESS; failures at the kind's rate; young tasks often still in flight."""
    recent = age_seconds < RECENT_SECONDS
    odds = (
        (states.PENDING, 0.04 if recent else 0.003),
        (states.STARTED, 0.12 if recent else 0.004),
        (states.RETRY, kind.retry_rate * (3 if recent else 0.3) + 0.001),
        (states.REVOKED, 0.008),
        (states.FAILURE, kind.failure_rate),
    )
    draw = rng.random()
    for status, chance in odds:
        if draw < chance:
            return status
        draw -= chance
    return states.SUCCESS


def _retries_before_success(kind, rng):
    if kind.retry_rate and rng.random() < kind.retry_rate:
        return rng.randint(1, len(RETRY_COUNTDOWNS))
    return 0


def group_result(members, created, rng):
    """The unsaved ``GroupResult`` of ``members``, encoded as Celery's ``GroupResult.as_tuple()``."""
    group_id = new_id(rng)
    tuples = [[group_id, None], [[[member.task_id, None], None] for member in members]]
    return GroupResult(
        group_id=group_id,
        date_created=created,
        date_done=created,
        content_type=CONTENT_TYPE,
        content_encoding=CONTENT_ENCODING,
        result=json.dumps(tuples),
    )
