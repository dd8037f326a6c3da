"""JSON views of task and group states.

States are read through the current Celery app's result backend, as
``AsyncResult`` and ``GroupResult.restore`` read them, so the views answer
for whatever backend the project configures (``results.backends:
DatabaseBackend`` among others; with that one, a group's members are read
in batches rather than one query each). The views check no permission: the
project that mounts them decides who may call them.

A group's views list its first ``GROUP_RESULTS_LIMIT`` members (1,000 by
default, ``results.conf``): a group of 20,000 tasks read whole took
seconds. A group cut there answers ``"truncated": true`` and ``"total"``,
its number of members, beside ``id`` and ``results``; any other group
answers exactly the reference's shape.

Every answer is JSON, never a server error: a result that JSON cannot
encode is shown as its ``repr``, an unknown group's status is a 404, and a
backend that cannot be read answers 503 with the reason.
"""
import json
import logging
from functools import wraps

from celery import current_app, states
from celery.result import GroupResult, result_from_tuple
from celery.utils import get_full_cls_name
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from kombu.utils.encoding import safe_repr

from .backends.database import DatabaseBackend
from .conf import group_results_limit
from .utils import batched

logger = logging.getLogger(__name__)


class BackendUnavailable(Exception):
    """The result backend could not be read."""


def _reads_backend(view):
    """Answer 503 JSON, with the reason, when ``view``'s backend read fails."""

    @wraps(view)
    def answering(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BackendUnavailable as error:
            return JsonResponse({"error": str(error)}, status=503)

    return answering


def _backend_call(what, function, *args):
    try:
        return function(*args)
    except Exception as exc:  # backends raise anything: driver, decoding, configuration errors
        logger.exception("Could not read %s from the result backend", what)
        raise BackendUnavailable(
            f"Could not read {what} from the result backend ({get_full_cls_name(type(exc))})."
        ) from exc


def _task_meta(task_id):
    """The backend's meta of ``task_id`` (status, result, traceback)."""
    backend = current_app.backend
    return _with_exception(backend, _backend_call(f"task {task_id}", backend.get_task_meta, task_id))


def _member_metas(group_id, members):
    """The metas of ``members``, in order.

    Celery's backend API reads one task at a time; on this app's
    ``DatabaseBackend`` the rows are read in batches instead, so a group of
    a thousand tasks is two queries, not a thousand.
    """
    backend = current_app.backend
    task_ids = [member.id for member in members]
    if not isinstance(backend, DatabaseBackend):
        return [_task_meta(task_id) for task_id in task_ids]
    metas = _backend_call(f"group {group_id}", _read_rows, backend, task_ids)
    return [_with_exception(backend, meta) for meta in metas]


def _member_statuses(group_id, members):
    """The states of ``members``, in order: on ``DatabaseBackend`` only their status column is read."""
    backend = current_app.backend
    if not isinstance(backend, DatabaseBackend):
        return [meta.get("status") for meta in _member_metas(group_id, members)]
    return _backend_call(f"group {group_id}", _read_statuses, backend, [member.id for member in members])


def _read_rows(backend, task_ids):
    manager = backend.TaskModel._default_manager
    rows = {}
    for batch in batched(task_ids):
        rows.update((row.task_id, row) for row in manager.filter(task_id__in=batch))
    # A task with no row yet is PENDING, as get_task_meta says.
    return [backend._meta_from_row(rows.get(task_id) or backend.TaskModel(task_id=task_id)) for task_id in task_ids]


def _read_statuses(backend, task_ids):
    manager = backend.TaskModel._default_manager
    statuses = {}
    for batch in batched(task_ids):
        statuses.update(manager.filter(task_id__in=batch).values_list("task_id", "status"))
    return [statuses.get(task_id, states.PENDING) for task_id in task_ids]


def _with_exception(backend, meta):
    """``meta`` with a failure's serialized exception rebuilt (as Celery does for ready states)."""
    if meta.get("status") in states.EXCEPTION_STATES and not isinstance(meta.get("result"), BaseException):
        try:
            return {**meta, "result": backend.exception_to_python(meta.get("result"))}
        except Exception:  # not a serialized exception (or a forbidden type): shown as stored
            pass
    return meta


def _json_safe(value):
    """``value`` when JSON can encode it, else its repr."""
    try:
        json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False)
    except (TypeError, ValueError, OverflowError):
        return safe_repr(value)
    return value


def _state(meta):
    """``{"status", "result"}`` of a task meta, plus ``exc`` and ``traceback`` for failures."""
    status, result = meta.get("status", states.PENDING), meta.get("result")
    if status in states.EXCEPTION_STATES:
        return {
            "status": status,
            "result": safe_repr(result),
            "exc": get_full_cls_name(type(result)),
            "traceback": meta.get("traceback"),
        }
    return {"status": status, "result": _json_safe(result)}


def _group_members(group_id):
    """``(members, total)``: the first ``GROUP_RESULTS_LIMIT`` results of the group stored as ``group_id``
    and how many it has in all; None for an unknown group.

    Celery's ``GroupResult.restore`` builds a result object for every
    member, a second's work for 20,000 of them: on this app's
    ``DatabaseBackend`` the stored tuple is decoded and only the members
    listed are built.
    """
    limit = group_results_limit()
    backend = current_app.backend
    if isinstance(backend, DatabaseBackend):
        return _backend_call(f"group {group_id}", _read_group, backend, group_id, limit)
    group = _backend_call(f"group {group_id}", GroupResult.restore, group_id, None, current_app)
    if group is None:
        return None
    return group.results[:limit], len(group.results)


def _read_group(backend, group_id, limit):
    row = backend.GroupModel._default_manager.get_group(group_id)
    decoded = backend.decode_content(row, row.result) if row.pk is not None else None
    if not decoded:
        return None  # as Celery's restore: no row, or nothing stored in it
    if not (isinstance(decoded, (list, tuple)) and len(decoded) == 2 and isinstance(decoded[1], (list, tuple))):
        raise ValueError("the stored group result is not a group's result tuple")
    head, members = decoded
    return result_from_tuple([head, list(members[:limit])], app=backend.app).results, len(members)


def _group_answer(group_id, results, total):
    """The views' JSON: the reference's shape, plus ``truncated`` and ``total`` when members were left out."""
    group = {"id": group_id, "results": results}
    if total > len(results):
        group.update(truncated=True, total=total)
    return JsonResponse({"group": group})


@_reads_backend
def is_task_successful(request, task_id):
    """``{"task": {"id", "executed"}}``: has the task succeeded."""
    executed = _task_meta(task_id).get("status") == states.SUCCESS
    return JsonResponse({"task": {"id": task_id, "executed": executed}})


@_reads_backend
def task_status(request, task_id):
    """``{"task": {"id", "status", "result"}}``, with ``exc`` and ``traceback`` for failures."""
    return JsonResponse({"task": {"id": task_id, **_state(_task_meta(task_id))}})


@_reads_backend
def is_group_successful(request, group_id):
    """``{"group": {"id", "results": [{"id", "executed"}]}}``; no results for an unknown group."""
    found = _group_members(group_id)
    if found is None:
        return JsonResponse({"group": {"id": group_id, "results": []}})
    members, total = found
    results = [
        {"id": member.id, "executed": status == states.SUCCESS}
        for member, status in zip(members, _member_statuses(group_id, members), strict=True)
    ]
    return _group_answer(group_id, results, total)


@_reads_backend
def group_status(request, group_id):
    """``{"group": {"id", "results": [{"result", "status"}]}}``; 404 for an unknown group."""
    found = _group_members(group_id)
    if found is None:
        return JsonResponse({"error": f"No group result is stored for group {group_id}."}, status=404)
    members, total = found
    return _group_answer(group_id, [_state(meta) for meta in _member_metas(group_id, members)], total)


def invalid_id(request, **kwargs):
    """404 JSON for a task or group id that is not one (ids match ``[\\w\\d\\-\\.]+``)."""
    return JsonResponse({"error": "Not a valid task or group id."}, status=404)
