"""Failure groups, kept by the statistics pass: each FAILURE row it counts is fingerprinted and added to its group.

The pass fingerprints the FAILURE rows it reads (``fingerprint_rows``: one
more query, for their tracebacks and stored results), counts them per
time bucket under the ``failure group`` dimension like any other key, and
moves their groups (``record``): how many failures each holds, when it
was first and last seen, its latest failure (the sample), the task names
and workers involved, and which group each row is in (``Failure``, what
the task list filters on).

A row counted as a failure and stored again is taken back from its group
first (the recount log remembers its fingerprint); if it failed again it
is fingerprinted again. First and last seen, the sample and the names
only ever move forward: they say what was seen.

``rebuild`` gives the groups the figures of the FAILURE rows there are,
computed from ``Failure`` after ``fingerprint_missing`` has fingerprinted
every row it does not hold yet: a row's fingerprint depends on the row
alone, so the rows fingerprinted before are not read again. What the
operators decided (resolved, ignored) is kept.
"""
from datetime import timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from results.models import TaskResult
from results.utils import batched

from ..conf import dashboard_setting
from ..decoding import decode_stored
from ..fingerprints import Fingerprint, fingerprint
from .lookups import any_of
from .models import Failure, FailureGroup
from .upserts import insert

#: Task names and workers kept per group: the first ones in sorted order.
NAMES_KEPT = 20
#: Failures fingerprinted per batch by a rebuild (each batch: one read, two writes).
BATCH = 2_000
#: Characters of a stored exception message read to fingerprint it.
MESSAGE_READ = 4_000
#: What the pass writes of a group; never its state, which an operator may be changing meanwhile.
GROUP_FIGURES = ["count", "first_seen", "last_seen", "sample_row_id", "task_names", "workers"]
FAILURE_FIELDS = ["digest", "date_done", "task_name", "worker"]


def stored_exception(result, content_type, content_encoding) -> tuple[str, str]:
    """``(exc_type, exc_message)`` of a failure's stored result (Celery's ``{"exc_type": ..., ...}``), if readable."""
    value, _note = decode_stored(result, content_type, content_encoding)
    if not isinstance(value, dict):
        return "", ""
    exception_type = value.get("exc_type")
    message = value.get("exc_message")
    if isinstance(message, list | tuple):
        message = " ".join(str(part) for part in message)
    return (
        exception_type if isinstance(exception_type, str) else "",
        message[:MESSAGE_READ] if isinstance(message, str) else "",
    )


#: What a row is fingerprinted from, after its id (``fingerprint_of``).
STORED_FAILURE = ("traceback", "result", "content_type", "content_encoding")


def fingerprint_of(traceback_text, result, content_type, content_encoding) -> Fingerprint:
    """A stored failure's fingerprint: its traceback, with its stored exception where the traceback says less."""
    exception_type, message = stored_exception(result, content_type, content_encoding)
    return fingerprint(traceback_text, exception_type, message)


def fingerprint_rows(ids: list[int], using: str) -> dict[int, Fingerprint]:
    """The fingerprints of the result rows ``ids``, from their tracebacks and stored results."""
    found = {}
    for chunk in batched(ids):
        for row_id, *stored in TaskResult.objects.using(using).filter(id__in=chunk).values_list("id", *STORED_FAILURE):
            found[row_id] = fingerprint_of(*stored)
    return found


def merged_names(kept: list[str], more) -> str:
    """The names ``kept`` and ``more``, one per line: sorted, the first ``NAMES_KEPT``."""
    names = set(kept)
    names.update(name for name in more if name)
    return "\n".join(sorted(names)[:NAMES_KEPT])


def record(changes: list, fingerprints: dict[int, Fingerprint], using: str) -> None:
    """Move the groups and the row-to-group map by ``changes``: ``(row_id, before, current)`` in pass order.

    ``before`` is how the row was counted (None for a new row), ``current``
    how it is counted now (``rollup.Counted``, with its ``fingerprint``).
    """
    taken, added, gone, placed = {}, {}, [], []
    for row_id, before, current in changes:
        if before is not None and before.fingerprint:
            taken[before.fingerprint] = taken.get(before.fingerprint, 0) + 1
            if not current.fingerprint:
                gone.append(row_id)
        if current.fingerprint:
            added.setdefault(current.fingerprint, []).append((row_id, current))
            placed.append(Failure(
                row_id=row_id, digest=current.fingerprint, date_done=current.date_done,
                task_name=current.task_name, worker=current.worker,
            ))
    digests = sorted(set(taken) | set(added))
    if not digests:
        return
    groups = {}
    for chunk in batched(digests):
        groups.update((group.digest, group) for group in FailureGroup.objects.using(using).filter(digest__in=chunk))
    for digest in digests:
        group = groups.get(digest)
        rows = added.get(digest, [])
        if group is None:
            if not rows:
                continue  # taking back from a group that is gone
            prints = fingerprints[rows[0][0]]
            group = groups[digest] = FailureGroup(
                digest=digest, exception_type=prints.exception_type, message=prints.message, where=prints.where,
            )
        group.count = max(group.count - taken.get(digest, 0), 0) + len(rows)
        for row_id, counted in rows:
            _seen(group, row_id, counted.date_done)
        group.task_names = merged_names(group.task_name_list, (counted.task_name for _row_id, counted in rows))
        group.workers = merged_names(group.worker_list, (counted.worker for _row_id, counted in rows))
    insert(FailureGroup, list(groups.values()), using, ["digest"], GROUP_FIGURES)
    insert(Failure, placed, using, ["row_id"], FAILURE_FIELDS)
    for chunk in batched(gone):
        Failure.objects.using(using).filter(row_id__in=chunk).delete()
    latest = {digest: max(counted.date_done for _row_id, counted in rows) for digest, rows in added.items()}
    _regress(using, {
        digest: done for digest, done in latest.items()
        if groups[digest].state == FailureGroup.State.RESOLVED and groups[digest].resolved_at
        and groups[digest].resolved_at < done
    })


def _seen(group: FailureGroup, row_id: int, date_done) -> None:
    if group.first_seen is None or date_done < group.first_seen:
        group.first_seen = date_done
    if group.last_seen is None or (date_done, row_id) >= (group.last_seen, group.sample_row_id or 0):
        group.last_seen, group.sample_row_id = date_done, row_id


def _regress(using: str, latest: dict) -> None:
    """Resolved groups that failed after they were resolved become regressed: one ``UPDATE``, on the state as it is.

    ``latest`` holds the groups that were resolved before their latest failure when the pass read them (most
    passes: none); the ``UPDATE`` checks again, so a group an operator reopened meanwhile stays open.
    """
    if not latest:
        return
    failed_since = Q()
    for digest, date_done in latest.items():
        failed_since |= Q(digest=digest, resolved_at__lt=date_done)
    FailureGroup.objects.using(using).filter(failed_since, state=FailureGroup.State.RESOLVED).update(
        state=FailureGroup.State.REGRESSED, state_changed=timezone.now()
    )


def expired(now, using: str):
    """The ``Failure`` rows past the statistics' retention (their groups keep counting them)."""
    kept_from = now - timedelta(days=dashboard_setting("STATISTICS_RETENTION_DAYS"))
    return Failure.objects.using(using).filter(date_done__lt=kept_from)


# --- the rebuild -----------------------------------------------------------------


def forget(using: str) -> None:
    """No row in any group (the passes then count them all again); the groups and their states stay."""
    Failure.objects.using(using).all().delete()
    _no_figures(using)


def _no_figures(using: str) -> None:
    FailureGroup.objects.using(using).update(
        count=0, first_seen=None, last_seen=None, sample_row_id=None, task_names="", workers=""
    )


def fingerprint_missing(failed, using: str, progress=None) -> int:
    """Fingerprint the FAILURE rows of ``failed`` that ``Failure`` does not hold as they are; forget the rest.

    Afterwards ``Failure`` holds exactly the rows of ``failed``, each with
    its current ``date_done``. Returns the rows fingerprinted;
    ``progress(rows_so_far)`` after each batch.
    """
    current = failed.filter(id=OuterRef("row_id"), date_done=OuterRef("date_done"))
    Failure.objects.using(using).exclude(Exists(current)).delete()
    known = Failure.objects.using(using).filter(row_id=OuterRef("id"), date_done=OuterRef("date_done"))
    missing = failed.exclude(Exists(known)).order_by("id").values_list(
        "id", "date_done", "task_name", "worker", *STORED_FAILURE
    )
    done, after = 0, 0
    while True:
        rows = list(missing.filter(id__gt=after)[:BATCH])
        if not rows:
            return done
        prints = {row[0]: fingerprint_of(*row[4:]) for row in rows}
        batch = [row[:4] for row in rows]
        new_groups = {}
        for found in prints.values():
            new_groups.setdefault(found.digest, found)
        known_groups = set(
            FailureGroup.objects.using(using).filter(digest__in=list(new_groups)).values_list("digest", flat=True)
        )
        insert(FailureGroup, [
            FailureGroup(digest=digest, exception_type=found.exception_type, message=found.message,
                         where=found.where)
            for digest, found in new_groups.items() if digest not in known_groups
        ], using)
        insert(Failure, [
            Failure(row_id=row_id, digest=prints[row_id].digest, date_done=date_done, task_name=task_name or "",
                    worker=worker or "")
            for row_id, date_done, task_name, worker in batch
        ], using, ["row_id"], FAILURE_FIELDS)
        done += len(batch)
        after = batch[-1][0]
        if progress is not None:
            progress(done)


def rebuild(using: str, now) -> int:
    """Give every group the figures of the rows ``Failure`` holds (after ``fingerprint_missing``); returns groups.

    Then the rows past the retention are forgotten, as ``prune()`` does
    (their groups go on counting them). Groups no row is in any more keep
    their state and have no figures.
    """
    _no_figures(using)
    rows = Failure.objects.using(using)
    figures = {
        digest: [count, first, last]
        for digest, count, first, last in rows.values("digest").annotate(
            n=Count("row_id"), first=Min("date_done"), last=Max("date_done")
        ).values_list("digest", "n", "first", "last")
    }
    samples = {}  # the latest row of each group: one short read of its (digest, date_done) index per group
    for chunk in batched(sorted((digest, last) for digest, (_count, _first, last) in figures.items())):
        samples.update(
            rows.filter(any_of(chunk, "digest", "date_done")).values("digest").annotate(row=Max("row_id"))
            .values_list("digest", "row")
        )
    names = {column: {} for column in ("task_name", "worker")}
    for column, seen in names.items():
        for digest, name in rows.exclude(**{column: ""}).values_list("digest", column).distinct():
            seen.setdefault(digest, []).append(name)
    groups = list(FailureGroup.objects.using(using).filter(digest__in=list(figures)))
    for group in groups:
        group.count, group.first_seen, group.last_seen = figures[group.digest]
        group.sample_row_id = samples[group.digest]
        group.task_names = merged_names([], names["task_name"].get(group.digest, ()))
        group.workers = merged_names([], names["worker"].get(group.digest, ()))
    FailureGroup.objects.using(using).bulk_update(groups, GROUP_FIGURES, batch_size=500)
    expired(now, using).delete()
    return len(groups)
