"""A Celery result backend that stores results with the Django ORM.

Configure it with ``result_backend = "results.backends:DatabaseBackend"``.
Every state a task goes through becomes one upsert of its ``TaskResult``
row; groups are ``GroupResult`` rows; chords count their header down in a
``ChordCounter`` row, so no ``celery.chord_unlock`` task polls for them.
"""
import binascii
import json
import time
import uuid
from base64 import b64decode, b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import states
from celery.app.task import Context
from celery.backends.base import BaseDictBackend
from celery.canvas import Signature, maybe_signature
from celery.exceptions import ChordError, Reject
from celery.result import AsyncResult, ResultSet, allow_join_result, result_from_tuple
from celery.result import GroupResult as CeleryGroupResult
from celery.utils.log import get_logger
from django.db import router, transaction
from django.db.models import TextChoices
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import ContentDisallowed, DecodeError, OperationalError
from kombu.serialization import dumps, loads, prepare_accept_content

from ..managers import check_id, check_lengths, transaction_retry
from ..models import ChordCounter, GroupResult, TaskResult, flatten_result_tuples
from ..utils import batched, now
from .outage import (
    DatabaseUnavailable,
    backoff_seconds,
    drop_connections,
    in_callers_transaction,
    is_outage,
    retry_through_outage,
    timed_write,
)

logger = get_logger(__name__)

#: Namespace of the chord bodies' derived task ids (``chord_body_task_id``).
CHORD_BODY_NAMESPACE = uuid.UUID("5b0c2f7e-3d1a-4e8b-9a64-0c6f1d2e7b41")

#: Errors that mean "the broker cannot be reached now": a body is sent again later, not failed.
BROKER_ERRORS = (OperationalError, OSError)

#: A chord part is one short transaction; on SQLite several worker processes
#: queue for the write lock, so a part may need a few tries.
CHORD_PART_RETRIES = 5


class Resend(TextChoices):
    """What the sweeper did with a chord stuck firing (``DatabaseBackend.resend_chord_body``)."""

    SENT = "sent", _("body sent again")
    ALREADY_SENT = "already_sent", _("the body has a stored result: not sent again, counter deleted")
    WAITING = "waiting", _("a header task is running again: left for the next sweep")
    BROKER_DOWN = "broker_down", _("the broker cannot be reached: left for the next sweep")
    UNREADABLE = "unreadable", _("the stored body cannot be read: left as it is")
    TAKEN = "taken", _("taken by another sweep")


class DatabaseBackend(BaseDictBackend):
    """Task, group and chord results in the ``results`` app's tables."""

    TaskModel = TaskResult
    GroupModel = GroupResult
    subpolling_interval = 0.5
    #: ``GroupResult.get()`` reads its tasks through ``get_many``.
    supports_native_join = True

    # --- encoding ---------------------------------------------------------

    def encode_content(self, data: Any) -> tuple[str, str, str]:
        """Serialize ``data`` with the result serializer, as text.

        Binary encodings (pickle, msgpack) are base64-encoded so that they
        fit the text columns.
        """
        content_type, content_encoding, content = self._encode(data)
        if content_encoding == "binary":
            content = b64encode(content).decode("ascii")
        return content_type, content_encoding, content

    def decode_content(self, obj: Any, content: str | None) -> Any:
        """Reverse ``encode_content`` for a value read from row ``obj``.

        The row's own content type is used, so results written with another
        serializer stay readable (if ``accept`` allows that serializer).
        """
        if not content:
            return None
        content_type = getattr(obj, "content_type", None) or self.content_type
        content_encoding = getattr(obj, "content_encoding", None) or self.content_encoding
        if content_encoding == "binary":
            content = b64decode(content)
        return loads(content, content_type=content_type, content_encoding=content_encoding, accept=self.accept)

    def _decode_or_pass_through(self, obj, content):
        """Decode stored arguments; text stored by older versions is returned as is."""
        try:
            return self.decode_content(obj, content)
        except (DecodeError, binascii.Error, ValueError):
            return content

    # --- tasks ------------------------------------------------------------

    def _store_result(self, task_id, result, state, traceback=None, request=None, using=None, **kwargs):
        """Write the new state of ``task_id`` in one upsert, riding through a database outage.

        When the outage outlasts ``OUTAGE_TIMEOUT`` in a worker, the message
        is rejected back to the queue (``acks_late``): the task runs again
        instead of its result being lost.
        """
        what = f"the {state} result of task {task_id}"
        with requeue_in_worker(request, what), timed_write(what):
            self._write_result(task_id, result, state, traceback, request, using)
        return result

    @retry_through_outage
    def _write_result(self, task_id, result, state, traceback, request, using):
        content_type, content_encoding, encoded_result = self.encode_content(result)
        meta = {**self._request_meta(request), "children": self.current_task_children(request)}
        fields = {
            "content_type": content_type,
            "content_encoding": content_encoding,
            "task_id": task_id,
            "result": encoded_result,
            "status": state,
            "traceback": traceback,
            "meta": self.encode_content(meta)[2],
            "using": using,
            **self._extended_fields(request),
        }
        if state == states.STARTED:
            fields["date_started"] = Now()
        self.TaskModel._default_manager.store_result(**fields)

    @staticmethod
    def _request_meta(request):
        """Extra meta a caller attached to the request (``request.meta``)."""
        meta = getattr(request, "meta", None) if request is not None else None
        return meta if isinstance(meta, dict) else {}

    def _extended_fields(self, request):
        """Name, arguments, worker and schedule entry of the task (``result_extended``).

        The arguments are taken from ``argsrepr``/``kwargsrepr`` when the
        sender set them, so a task that masks a secret there keeps it out of
        the database.
        """
        if request is None or not self.app.conf.find_value_for_key("extended", "result"):
            return {}
        args = getattr(request, "argsrepr", None)
        if args is None:
            args = getattr(request, "args", None)
        kwargs = getattr(request, "kwargsrepr", None)
        if kwargs is None:
            kwargs = getattr(request, "kwargs", None)
        return {
            "task_name": getattr(request, "task", None),
            "task_args": None if args is None else self.encode_content(args)[2],
            "task_kwargs": None if kwargs is None else self.encode_content(kwargs)[2],
            "worker": getattr(request, "hostname", None),
            "periodic_task_name": periodic_task_name(request),
        }

    @retry_through_outage
    def _get_task_meta_for(self, task_id):
        """The task's state as Celery expects it, with the stored meta merged in."""
        return self._meta_from_row(self.TaskModel._default_manager.get_task(task_id))

    def _meta_from_row(self, obj):
        meta = obj.as_dict()
        extra = self._decode_or_pass_through(obj, meta.pop("meta"))
        task_args = self._decode_or_pass_through(obj, meta["task_args"])
        task_kwargs = self._decode_or_pass_through(obj, meta["task_kwargs"])
        if isinstance(extra, dict):
            meta.update(extra)
        meta.update(
            result=self.decode_content(obj, meta["result"]),
            task_args=task_args,
            task_kwargs=task_kwargs,
            args=task_args,
            kwargs=task_kwargs,
        )
        return self.meta_from_decoded(meta)

    def get_many(self, task_ids, timeout=None, interval=0.5, no_ack=True, on_message=None,
                 on_interval=None, max_iterations=None, READY_STATES=states.READY_STATES):
        """Yield ``(task_id, meta)`` for each task as it becomes ready.

        Each poll reads the ready rows in batches of ids: a group of
        thousands of tasks costs a few queries per poll, not one per task.
        Ready metas are cached, as Celery's key-value backends do, so that a
        failed join can name the task that failed.
        """
        interval = 0.5 if interval is None else interval
        pending = set(task_ids)
        for task_id in list(pending):
            cached = self._cache.get(task_id)
            if cached is not None and cached["status"] in READY_STATES:
                pending.discard(task_id)
                yield task_id, cached
        elapsed, iterations = 0.0, 0
        while pending:
            for task_id, meta in self._ready_metas(sorted(pending), READY_STATES):
                pending.discard(task_id)
                self._cache[task_id] = meta
                if on_message is not None:
                    on_message(meta)
                yield task_id, meta
            if not pending:
                return
            if timeout is not None and elapsed >= timeout:
                raise self.TimeoutError(f"Operation timed out ({timeout})")
            if on_interval:
                on_interval()
            nap = interval if timeout is None else min(interval, timeout - elapsed)
            time.sleep(nap)
            elapsed += nap
            iterations += 1
            if max_iterations and iterations >= max_iterations:
                return

    @retry_through_outage
    def _ready_metas(self, task_ids, ready_states):
        manager = self.TaskModel._default_manager
        return [
            (obj.task_id, self._meta_from_row(obj))
            for batch in batched(task_ids)
            for obj in manager.filter(task_id__in=batch, status__in=ready_states)
        ]

    @retry_through_outage
    def _forget(self, task_id):
        self.TaskModel._default_manager.filter(task_id=task_id).delete()

    @retry_through_outage
    def cleanup(self):
        """Delete task and group results older than ``result_expires``."""
        if not self.expires:
            return
        for model in (self.TaskModel, self.GroupModel):
            model._default_manager.delete_expired(self.expires)

    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        """Retry (with ``result_backend_always_retry``) when the database is unreachable or busy.

        Every query already rides through an outage of up to
        ``OUTAGE_TIMEOUT`` (``retry_through_outage``); Celery's own retries,
        when turned on, come on top of that. The connections are closed
        first, so that the retry opens new ones instead of failing again on
        dead ones. Inside a transaction nothing is retried: the transaction
        is lost with its connection.
        """
        aliases = self.database_aliases()
        if isinstance(exc, DatabaseUnavailable) or in_callers_transaction(aliases) or not is_outage(exc):
            return False
        drop_connections(aliases)
        return True

    def database_aliases(self) -> set[str]:
        """The databases this backend reads and writes, as the router places its three models."""
        models = (self.TaskModel, self.GroupModel, ChordCounter)
        return {router.db_for_write(model) for model in models} | {router.db_for_read(model) for model in models}

    def outage_backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` through an outage (Celery's sleep settings)."""
        return backoff_seconds(self.base_sleep_between_retries_ms, attempt, self.max_sleep_between_retries_ms)

    # --- groups -----------------------------------------------------------

    @retry_through_outage
    def _save_group(self, group_id, group_result):
        content_type, content_encoding, encoded = self.encode_content(group_result.as_tuple())
        self.GroupModel._default_manager.store_group_result(content_type, content_encoding, group_id, encoded)
        return group_result

    @retry_through_outage
    def _restore_group(self, group_id):
        """The saved group as a dict with a ``celery.result.GroupResult``, or None."""
        obj = self.GroupModel._default_manager.get_group(group_id)
        if obj.pk is None:
            return None
        meta = obj.as_dict()
        decoded = self.decode_content(obj, meta["result"])
        meta["result"] = result_from_tuple(decoded, app=self.app) if decoded else None
        return meta

    @retry_through_outage
    def _delete_group(self, group_id):
        self.GroupModel._default_manager.filter(group_id=group_id).delete()

    # --- chords -----------------------------------------------------------

    @retry_through_outage
    def apply_chord(self, header_result_args: Any, body: Signature, **kwargs: Any) -> None:
        """Create the chord's counter, set to the header size, before the header runs.

        The size counts the tasks of nested groups (a header element that is
        a chain ending in a group returns once per member), as Celery's own
        ``set_chord_size`` will; the body's ``chord_size`` wins when set.
        """
        self.ensure_chords_allowed()
        if isinstance(header_result_args, CeleryGroupResult):
            header_result = header_result_args
        else:
            header_result = self.app.GroupResult(*header_result_args)
        sub_tasks = [result.as_tuple() for result in header_result.results]
        counter = ChordCounter(group_id=header_result.id, sub_tasks=json.dumps(sub_tasks))
        size = len(counter.header_task_ids())
        counter.count = body.get("chord_size") or size
        counter.returned = "0" * size
        check_id("group_id", counter.group_id)
        check_lengths(counter)
        counter.save(using=router.db_for_write(ChordCounter), force_insert=True)

    @retry_through_outage
    def set_chord_size(self, group_id: str, chord_size: int) -> None:
        """Celery's count of the header's parts, sent with the last of them: the counter follows it.

        Parts that have already returned stay counted, so the call is safe
        however many of them finished before it.
        """
        db = router.db_for_write(ChordCounter)
        with transaction.atomic(using=db):
            counter = ChordCounter.objects.using(db).select_for_update().filter(group_id=group_id).first()
            if counter is None or counter.returned is None:
                return
            count = max(chord_size - counter.returned.count("1"), 0)
            if count != counter.count:
                counter.count = count
                counter.save(update_fields=["count"])

    @retry_through_outage
    def add_to_chord(self, group_id: str, result: AsyncResult) -> None:
        """Add ``result`` to the header of the running chord ``group_id``."""
        db = router.db_for_write(ChordCounter)
        with transaction.atomic(using=db):
            counter = ChordCounter.objects.using(db).select_for_update().get(group_id=group_id)
            counter.sub_tasks = json.dumps([*json.loads(counter.sub_tasks), result.as_tuple()])
            counter.count += 1
            if counter.returned is not None:
                counter.returned += "0" * len(list(flatten_result_tuples([result.as_tuple()])))
            counter.save(update_fields=["sub_tasks", "count", "returned"])

    def on_chord_part_return(self, request: Context, state: str, result: Any, **kwargs: Any) -> None:
        """Count one header task in; the part that completes the header publishes the body.

        The body is sent at least once: the deciding transaction marks the
        counter firing instead of deleting it, and the counter goes only once
        the body is published. A worker lost in between leaves it firing, for
        the sweeper (``results.sweeping``) to publish the body again, with the
        same task id.
        """
        if not request.group or not request.id:
            return
        what = f"the return of task {request.id} to chord {request.group}"
        with requeue_in_worker(request, what), timed_write(what):
            due = self._count_chord_part(request.group, request.id, request.chord)
        if due is not None:
            counter, callback, missing = due
            self.fire_chord(counter, callback, missing)

    @retry_through_outage
    @transaction_retry(max_retries=CHORD_PART_RETRIES)
    def _count_chord_part(self, group_id, task_id, body):
        """Count header task ``task_id`` in under a row lock; ``(counter, body, missing ids)`` if the body is due.

        A task delivered twice (``acks_late`` and a lost worker) returns
        twice: ``returned`` counts it once, and warns. Once every part has
        returned, the header rows decide:

        - a row that is not ready (the second copy of a task delivered twice
          is running again) makes the body wait for the next return;
        - a task with no row at all (``ignore_result``, or forgotten) will
          never be ready: the body is due, and fails naming it;
        - otherwise the body is due with every value.

        The transaction that decides marks the counter firing, with the body
        and its task id, so the decision is taken once whatever arrives
        later, and survives the worker that took it.
        """
        db = router.db_for_write(ChordCounter)
        with transaction.atomic(using=db):
            counter = ChordCounter.objects.using(db).select_for_update().filter(group_id=group_id).first()
            if counter is None:
                logger.warning("Chord %s: no ChordCounter; this part is ignored (body already called?)", group_id)
                return None
            if counter.firing:
                logger.warning(
                    "Chord %s: header task %s returned while the body is being sent; it is ignored.", group_id, task_id
                )
                return None
            header_ids = counter.header_task_ids()
            if not self._mark_returned(counter, header_ids, task_id):
                logger.warning(
                    "Chord %s: header task %s returned again (delivered twice?); it is counted once.",
                    group_id, task_id,
                )
            if counter.count > 0:
                counter.save(update_fields=["count", "returned"])
                return None
            missing, unready = self._missing_and_unready(header_ids, db)
            if unready:
                logger.warning(
                    "Chord %s: every header task has returned, but %d are not ready "
                    "(delivered twice and running again?); waiting for them.", group_id, len(unready),
                )
                if counter.returned is None:  # no record of who returned: count the unready ones again
                    counter.count = len(unready)
                counter.save(update_fields=["count", "returned"])
                return None
            callback = self._chord_body(body, group_id)
            counter.fired_at = now()
            counter.body_task_id = callback.id if callback is not None else None
            counter.body = self.encode_chord_body(callback)
            counter.save(update_fields=["count", "returned", "fired_at", "body_task_id", "body"])
            return counter, callback, missing

    def _chord_body(self, body, group_id):
        """The body as a signature whose task id is fixed: the one Celery froze, else one derived from the group.

        ``chord()`` freezes the body before the header is sent, so its id is
        in every header message and is the id the caller waits on; a body
        that came without one gets ``chord_body_task_id(group_id)``. Either
        way every publish of this body carries the same id, so a second one
        writes the same result row and can be recognised.
        """
        callback = maybe_signature(body, app=self.app)
        if callback is not None and not callback.id:
            callback.set(task_id=chord_body_task_id(group_id))
        return callback

    def encode_chord_body(self, callback) -> str | None:
        """The body's signature as text for ``ChordCounter.body``: the task serializer's payload, in a JSON envelope.

        The task serializer is the one that carried the body in the header's
        messages, so whatever the body holds, it can encode it.
        """
        if callback is None:
            return None
        content_type, content_encoding, payload = dumps(dict(callback), serializer=self.app.conf.task_serializer)
        if content_encoding == "binary":
            payload = b64encode(payload).decode("ascii")
        elif isinstance(payload, bytes):
            payload = payload.decode(content_encoding or "utf-8")
        return json.dumps({"content_type": content_type, "content_encoding": content_encoding, "payload": payload})

    def decode_chord_body(self, text: str | None):
        """Reverse ``encode_chord_body``: the body's signature, or None (nothing stored, or not readable)."""
        if not text:
            return None
        try:
            envelope = json.loads(text)
            payload = envelope["payload"]
            if envelope["content_encoding"] == "binary":
                payload = b64decode(payload)
            body = loads(payload, content_type=envelope["content_type"],
                         content_encoding=envelope["content_encoding"],
                         accept=prepare_accept_content(self.app.conf.accept_content))
        except (ValueError, KeyError, TypeError, DecodeError, binascii.Error, ContentDisallowed) as exc:
            logger.error("Cannot read a stored chord body: %r", exc)
            return None
        return maybe_signature(body, app=self.app)

    def fire_chord(self, counter: ChordCounter, callback: Signature | None, missing=()) -> bool:
        """Publish the body of the firing ``counter`` (or fail it), then delete the counter; True when it is deleted.

        When the broker cannot take the body, the counter stays firing: the
        sweeper sends the body once the broker is back.
        """
        if callback is None:
            logger.error("Chord %s: its header tasks carried no body; nothing to call.", counter.group_id)
        elif not self._call_chord_body(callback, counter, missing):
            return False
        self.delete_fired_counter(counter)
        return True

    def delete_fired_counter(self, counter: ChordCounter) -> None:
        """Delete the counter once its body is published; a database outage leaves it for the sweeper."""
        try:
            self._delete_counter(counter.pk, counter.fired_at)
        except DatabaseUnavailable as exc:
            logger.warning("Chord %s: body sent, but its counter could not be deleted (%s); the sweeper will.",
                           counter.group_id, exc)

    @retry_through_outage
    def _delete_counter(self, pk, fired_at):
        db = router.db_for_write(ChordCounter)
        ChordCounter.objects.using(db).filter(pk=pk, fired_at=fired_at).delete()

    def resend_chord_body(self, counter: ChordCounter) -> str:
        """Publish again the body of ``counter``, stuck firing (its worker was lost); what happened, a ``Resend``.

        The counter is claimed first: ``fired_at`` moves on, on condition that
        it has not moved since it was read, so of two sweepers only one sends.
        A body with a stored result has run (or runs, or was failed): the
        counter is deleted and nothing is sent. A header task running again
        (delivered twice) makes it wait for the next sweep.
        """
        db = router.db_for_write(ChordCounter)
        claimed_at = now()
        claimed = ChordCounter.objects.using(db).filter(pk=counter.pk, fired_at=counter.fired_at)
        if not counter.firing or not claimed.update(fired_at=claimed_at):
            return Resend.TAKEN
        counter.fired_at = claimed_at
        callback = self.decode_chord_body(counter.body)
        if callback is None:
            logger.error("Chord %s: firing, but its stored body cannot be read; it is left as it is.", counter.group_id)
            return Resend.UNREADABLE
        if self.TaskModel._default_manager.using(db).filter(task_id=callback.id).exists():
            logger.info("Chord %s: the body %s has a stored result already; not sent again.",
                        counter.group_id, callback.id)
            self.delete_fired_counter(counter)
            return Resend.ALREADY_SENT
        missing, unready = self._missing_and_unready(counter.header_task_ids(), db)
        if unready:
            return Resend.WAITING
        logger.warning("Chord %s: firing since its worker was lost; the body %s is sent again.",
                       counter.group_id, callback.id)
        return Resend.SENT if self.fire_chord(counter, callback, missing) else Resend.BROKER_DOWN

    @staticmethod
    def _mark_returned(counter, header_ids, task_id):
        """Count ``task_id`` in on ``counter``; False when it had returned before."""
        try:
            position = header_ids.index(task_id)
        except ValueError:  # not a task of this header: counted, with nothing to remember
            position = None
        if counter.returned is not None and position is not None and position < len(counter.returned):
            if counter.returned[position] == "1":
                return False
            counter.returned = f"{counter.returned[:position]}1{counter.returned[position + 1:]}"
        counter.count = max(counter.count - 1, 0)
        return True

    def _missing_and_unready(self, task_ids, db):
        """``(missing, unready)``: header tasks with no stored row, and those whose row is not ready."""
        statuses = {}
        for batch in batched(task_ids):
            statuses.update(
                self.TaskModel._default_manager.using(db)
                .filter(task_id__in=batch)
                .values_list("task_id", "status")
            )
        missing = [task_id for task_id in task_ids if task_id not in statuses]
        unready = [task_id for task_id in task_ids if statuses.get(task_id, states.SUCCESS) not in states.READY_STATES]
        return missing, unready

    def _call_chord_body(self, callback, counter, missing=()):
        """Send the body the header's results in order, or fail it with a ``ChordError``.

        True once the body's fate is settled (published, or failed); False
        when the broker could not be reached, so that it is sent later.
        """
        header = counter.group_result(app=self.app)
        try:
            if missing:
                raise ChordError(
                    f"Dependency {missing[0]} has no stored result (ignore_result, forgotten or expired?)"
                    + (f", and {len(missing) - 1} more" if len(missing) > 1 else "")
                )
            values = self._header_values(header, router.db_for_write(ChordCounter))
        except ChordError as exc:
            logger.error("Chord %s: %s", header.id, exc)
            self.chord_error_from_stack(callback, exc)
            return True
        try:
            self.publish_chord_body(callback, values)
        except BROKER_ERRORS:
            logger.exception("Chord %s: the broker cannot take the body now; the sweeper will send it", header.id)
            return False
        except Exception as exc:  # a body that cannot be sent at all: the body must learn of it
            logger.exception("Chord %s: cannot send the body", header.id)
            self.chord_error_from_stack(callback, ChordError(f"Callback error: {exc!r}"))
        return True

    def publish_chord_body(self, callback: Signature, values: list) -> None:
        """Send the body its header's values; on AMQP, return only once the broker has confirmed it.

        The counter is deleted once this returns, so "published" must mean
        the broker has the message. A plain AMQP publish returns as soon as
        the message is written to the socket: a connection cut right after
        loses it, and with it the body (the soak, ``bench/soak.py``, lost one
        body in 1,000 chords that way). Here the body goes out on a
        connection of its own with publisher confirms (``confirm_publish``):
        a cut raises instead, the counter stays firing, and the sweeper
        sends the body later. It costs one connection per chord fired;
        other transports (Redis, the filesystem) answer each publish, and
        use the app's pooled producers as before.
        """
        with self.app.connection_for_write(transport_options={"confirm_publish": True}) as connection:
            if connection.transport.driver_type != "amqp":
                callback.delay(values)
                return
            with connection.Producer() as producer:
                callback.apply_async((values,), producer=producer)

    @retry_through_outage
    def _header_values(self, header, db):
        """The header tasks' return values in order; ``ChordError`` names a failed one."""
        if any(isinstance(result, ResultSet) for result in header.results):
            return self._join_header(header)
        ids = [result.id for result in header.results]
        tasks = self.TaskModel._default_manager.using(db)
        rows = {}
        for batch in batched(ids):
            rows.update((row.task_id, row) for row in tasks.filter(task_id__in=batch))
        values = []
        for task_id in ids:
            if task_id not in rows:
                raise ChordError(f"Dependency {task_id} has no stored result (forgotten or expired?)")
            meta = self._meta_from_row(rows[task_id])
            if meta["status"] in states.PROPAGATE_STATES:
                raise ChordError(f"Dependency {task_id} raised {meta['result']!r}")
            values.append(meta["result"])
        return values

    def _join_header(self, header):
        """Celery's join, for headers that nest result sets."""
        try:
            with allow_join_result():
                return header.join(timeout=self.app.conf.result_chord_join_timeout, propagate=True)
        except Exception as exc:
            culprit = next((r for r in header.results if r.state in states.PROPAGATE_STATES), None)
            reason = f"Dependency {culprit.id} raised {exc!r}" if culprit else repr(exc)
            raise ChordError(reason) from exc


@contextmanager
def requeue_in_worker(request: Context | None, what: str) -> Iterator[None]:
    """In a worker, turn a database outage that outlasted ``OUTAGE_TIMEOUT`` into a requeue of the message.

    Celery acknowledges a task's message once the task has run, even when
    its result could not be stored; a rejection with ``requeue`` (honoured
    with ``acks_late``) hands it back to the broker instead, so the task
    runs again once the database is back, and its result is not lost.
    Outside a worker (no request, or an eager call) the error is raised.
    """
    try:
        yield
    except DatabaseUnavailable as exc:
        if request is None or getattr(request, "is_eager", False) or not getattr(request, "delivery_info", None):
            raise
        logger.error("Could not store %s: %s. The message is requeued (acks_late) to run the task again.", what, exc)
        raise Reject(f"Could not store {what}: {exc}", requeue=True) from exc


def chord_body_task_id(group_id: str) -> str:
    """The task id of the body of chord ``group_id``, when Celery did not fix one: the same for every publish."""
    return str(uuid.uuid5(CHORD_BODY_NAMESPACE, group_id))


def periodic_task_name(request: Context | None) -> str | None:
    """The beat schedule entry that sent the task: a request field or a message header."""
    name = getattr(request, "periodic_task_name", None)
    if name is None:
        headers = getattr(request, "headers", None)
        if isinstance(headers, dict):
            name = headers.get("periodic_task_name")
    return name
