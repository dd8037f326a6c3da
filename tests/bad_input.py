"""Property-based bad input for every GET URL: what the suite generates, where it sends it, and what must hold.

``tests/dashboard/test_bad_input_properties.py`` and
``tests/results/test_bad_input_properties.py`` use it. The project's
URLconf is walked (``url_routes``) so that a URL added later is either
given a ``Case`` (its query parameters, its path arguments) or excluded
with a reason; a test fails on one that is neither. For each case,
hypothesis draws a request (``requests``): path arguments (known ids,
unknown ones, empty, very long, odd characters), a query string (the
view's own parameter names and some others, hostile values, repeated keys,
sometimes a raw malformed string) and htmx headers with odd values. The
answer must never be a server error, and no table may change
(``Snapshot``).
"""
import hashlib
import os
import re
import string
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from django.apps import apps
from django.conf import settings as django_settings
from django.db import connections
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps caches (and, were it not off, its example database) under the project's VAR_DIR, never in the
# checkout's root.
set_hypothesis_home_dir(Path(django_settings.VAR_DIR) / "hypothesis")

#: Examples per URL and run. Raise it for a longer hunt: ``BAD_INPUT_EXAMPLES=2000 pytest ...``.
EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "100"))

# --- the URLconf ----------------------------------------------------------------------------------------------------


def url_routes(patterns=None, prefix=""):
    """Every URL pattern of the project, as ``(route, pattern)``: ``route`` its whole path (``"dashboard/tasks/"``,
    ``"dashboard/tasks/<path:task_id>/"``), regex patterns as their regex without anchors."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            yield from url_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


ARGUMENT = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def fill(route: str, arguments: dict[str, str]) -> str:
    """``route`` with each ``<converter:name>`` replaced by ``arguments[name]``, percent-encoded as a browser would
    (a ``path`` argument keeps its slashes)."""

    def value(match):
        safe = "/" if match["converter"] == "path" else ""
        return quote(arguments[match["name"]], safe=safe)

    return "/" + ARGUMENT.sub(value, route)


def route_arguments(route: str) -> dict[str, str]:
    """``{name: converter}`` of the path arguments in ``route``."""
    return {match["name"]: match["converter"] or "str" for match in ARGUMENT.finditer(route)}


# --- hostile values -------------------------------------------------------------------------------------------------

#: Any character but lone surrogates (which no URL can carry: they have no UTF-8).
ANY_CHARACTER = st.characters(exclude_categories=["Cs"])

ODD_WORDS = st.sampled_from([
    "", " ", "\t", "0", "-0", "-1", "1", "01", "+1", "1.5", "-1.5", "1e309", "-1e309", "1e-400", "NaN", "nan", "inf",
    "-inf", "Infinity", "0x1f", "1_000", "٣", "１", "²", "9" * 30, "-" + "9" * 30, str(2**63), str(2**64),
    str(-2**63 - 1),
    "true", "false", "null", "None", "[]", "{}", "[[[[[[[[[[", '{"a":', "\x00", "a\x00b", "%00", "%", "%zz", "%%",
    "'", '"', "\\", "' OR '1'='1", "1; DROP TABLE results_taskresult", "../../../etc/passwd", "<script>x</script>",
    "{{ request }}", "{% now %}", "$(id)", "\r\n", "\u202e", "\ufeff", "\u200b", "😀", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ﷺ", "\U0010ffff",
    "a" * 256, "é" * 200,
])

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)

#: A date-time as a form would take it, and many it would not: out of range, half-written, other formats.
DATES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") if d.microsecond % 2 else d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from([
        "0001-01-01T00:00:00", "0001-01-01", "9999-12-31T23:59:59.999999", "9999-12-31", "10000-01-01T00:00:00",
        "2026-02-30T10:00:00", "2026-13-01", "2026-00-10", "2026-01-01T24:00:00", "2026-01-01T23:60:00",
        "2026-01-01T00:00:00+99:00", "2026-01-01T00:00:00Z", "2026-01-01 00:00", "01/02/2026", "2026",
        "-2026-01-01", "2026-01-01T00:00:00.0000001", "1e10", "now", "today", "T", "2026-03-29T02:30:00",
    ]),
)

CURSORS = st.one_of(
    st.builds("{}.{}.{}".format, st.sampled_from(["after", "before", "AFTER", "next", ""]),
              st.integers(min_value=-(10**21), max_value=10**21), st.integers(min_value=-1, max_value=2**65)),
    st.sampled_from(["after", "after.", "after..", "before.0.0", "after.1.1.1", "after.-0.1", "after. 1.1"]),
)

SORT_KEYS = st.one_of(
    st.sampled_from(["task_id", "task_name", "status", "worker", "periodic_task_name", "date_created", "date_done",
                     "date_started", "runtime", "queue_wait", "select", "group_id", "runs", "failures", "cause",
                     "count", "last_seen", "created", "username", "pk", "id", "result", "traceback"]),
    st.text(alphabet="-_.,abcdefgimnorstu", max_size=20),
).flatmap(lambda key: st.sampled_from([key, "-" + key, "--" + key, key + ",-" + key, key + "__x"]))

TEXT = st.text(ANY_CHARACTER, max_size=40)

#: Long values, cheaply: one character many times, or a short text repeated.
LONG = st.builds(lambda text, times: text * times, st.text(ANY_CHARACTER, min_size=1, max_size=3),
                 st.integers(min_value=100, max_value=20_000))

VALUES = st.one_of(ODD_WORDS, NUMBERS, TEXT, LONG, DATES, CURSORS, SORT_KEYS)

#: The parameters most pages read through shared code (lists, tables, live refresh), offered to every URL.
COMMON_PARAMETERS = ("sort", "page", "per_page", "cursor", "refresh", "window", "next", "format", "q")

#: The elements htmx swaps on the dashboard's pages, and what a tampered request might name instead.
HTMX_TARGETS = ("task-results", "group-results", "group-members", "chord-table", "insights", "result-count",
                "same-args", "redrive-progress", "main", "")


def header_text(max_size=60):
    """A header value as an HTTP server hands it to Django: latin-1 text, no line breaks (the server refuses those)."""
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=max_size)


def htmx_headers(targets=HTMX_TARGETS):
    """Some of htmx's request headers, with the values htmx sends and odd ones."""
    odd = st.one_of(st.sampled_from(["true", "false", "", "1", "TRUE", "null"]), header_text())
    url = st.one_of(st.sampled_from(["http://testserver/dashboard/tasks/?q=x", "/dashboard/", "http://[::1", ""]),
                    header_text(200))
    target = st.one_of(st.sampled_from(targets), header_text())
    return st.fixed_dictionaries({}, optional={
        "HX-Request": odd, "HX-Target": target, "HX-Trigger": target, "HX-Trigger-Name": header_text(),
        "HX-Current-URL": url, "HX-Current-URL-URI-AutoEncoded": odd, "HX-History-Restore-Request": odd,
        "HX-Boosted": odd, "HX-Prompt": header_text(),
        "If-None-Match": st.one_of(st.just("*"), header_text()), "If-Modified-Since": header_text(),
    })


def query_strings(parameters):
    """A query string: pairs of the view's ``parameters`` (and common and unknown names) with hostile values,
    keys repeated at will; or, now and then, a raw string that is not well formed."""
    names = st.one_of(st.sampled_from(sorted(set(parameters) | set(COMMON_PARAMETERS))), st.text(ANY_CHARACTER,
                                                                                                   max_size=12))
    pairs = st.lists(st.tuples(names, VALUES), max_size=8).map(urlencode)
    raw = st.text(alphabet=string.ascii_letters + string.digits + "%&=;+#?[]._-~ ", max_size=60)
    return st.one_of(pairs, pairs, pairs, raw)


def ids(known=(), max_size=40):
    """A path argument: a stored id (the page's real answer), or an unknown, empty, very long or odd one."""
    odd = st.one_of(ODD_WORDS, TEXT, LONG, st.text(alphabet=string.ascii_letters + "-_.", max_size=max_size))
    return st.one_of(st.sampled_from(list(known)), odd) if known else odd


def numeric_ids(known=()):
    """An ``<int:...>`` argument: a stored row's, or one no row has (the converter takes only digits)."""
    unknown = st.integers(min_value=0, max_value=10**30).map(str)
    return st.one_of(st.sampled_from([str(pk) for pk in known]), unknown) if known else unknown


# --- the cases ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What is drawn for one URL: its query ``parameters``, a strategy per path argument (``arguments``), extra
    ``headers`` (a strategy of a dict), and how many ``examples``.

    ``path`` (a strategy of whole paths) replaces the filled route, for a
    regex pattern, which has no arguments to fill. ``documented_5xx``
    (``response -> bool``) accepts the server errors the view documents
    and tests on purpose, say which in its docstring; any other fails.
    """

    parameters: tuple[str, ...] = ()
    arguments: dict = field(default_factory=dict)
    path: st.SearchStrategy | None = None
    headers: st.SearchStrategy | None = None
    examples: int = EXAMPLES
    documented_5xx: Callable | None = None


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict

    def __repr__(self):  # what hypothesis prints for a falsifying example: the request, ready to replay
        return f"GET {self.url!r} headers={self.headers!r}"


def requests(route: str, case: Case) -> st.SearchStrategy:
    """The requests drawn for ``route``: its arguments filled, a query string, htmx (and the case's) headers."""
    names = route_arguments(route)
    missing = set(names) - set(case.arguments)
    assert not missing, f"{route}: no strategy for the path arguments {sorted(missing)}"
    if case.path is not None:
        paths = case.path
    else:
        paths = st.fixed_dictionaries({name: case.arguments[name] for name in names}).map(
            lambda arguments: fill(route, arguments))
    headers = htmx_headers()
    if case.headers is not None:
        headers = st.tuples(headers, case.headers).map(lambda both: {**both[0], **both[1]})

    def build(drawn):
        path, query, headers = drawn
        return Request(f"{path}?{query}" if query else path, headers)

    return st.tuples(paths, query_strings(case.parameters), headers).map(build)


# --- what must hold -------------------------------------------------------------------------------------------------


class Snapshot:
    """Every table of the project's models: its row count and a checksum of its rows, for "nothing changed"."""

    def __init__(self):
        self.tables = {model._meta.db_table: self._read(model) for model in self.models()}

    @staticmethod
    def models():
        return [model for model in apps.get_models() if model._meta.managed and not model._meta.proxy]

    @staticmethod
    def _read(model):
        columns = [f.attname for f in model._meta.concrete_fields]
        rows = model._base_manager.order_by("pk").values_list(*columns)
        digest = hashlib.sha256()
        count = 0
        for row in rows.iterator(chunk_size=2000):
            digest.update(repr(row).encode())
            count += 1
        return count, digest.hexdigest()[:16]

    def changes(self, other: "Snapshot") -> dict:
        """``{table: (before, after)}`` of the tables whose rows differ."""
        return {table: (value, other.tables[table]) for table, value in self.tables.items()
                if other.tables[table] != value}


#: Statements that change data or schema (savepoints and releases, which the test's own transaction issues, do not).
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|UPSERT|CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)


class WriteGuard:
    """Records every statement that would change data, on every database connection, while it is installed."""

    def __init__(self):
        self.writes = []

    def __call__(self, execute, sql, params, many, context):
        if WRITE.match(sql):
            self.writes.append(sql[:200])
        return execute(sql, params, many, context)

    @contextmanager
    def installed(self):
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(self))
            yield self


def check_never_a_server_error(clients: dict, route: str, case: Case):
    """Run ``case``'s examples against ``route``: no answer 5xx (nor an exception), nothing written.

    ``clients`` (``{who: Client}``) are the users asking; the first one asks
    at least half of the examples (the others: the log-in redirect, a
    refusal). Each example is checked for statements that would write
    (``WriteGuard``, cheap, and it names the request); the whole run for
    changed tables (``Snapshot`` before and after: counts and checksums of
    every table, whatever wrote them). Built per test (the clients and the
    seeded rows are the test's own), so hypothesis sees no function-scoped
    fixture; no example database is written (``database=None``): each run
    draws afresh.
    """
    before = Snapshot()
    first, *others = clients
    who = st.one_of(st.just(first), st.sampled_from([first, *others]))

    @settings(max_examples=case.examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(request=requests(route, case), who=who)
    def never_a_server_error(request, who):
        with WriteGuard().installed() as guard:
            response = clients[who].get(request.url, headers=request.headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)  # an export fails while it streams, not before
        documented = case.documented_5xx is not None and case.documented_5xx(response)
        assert response.status_code < 500 or documented, f"{request} by {who}: {response.status_code}"
        assert not guard.writes, f"{request} by {who} wrote: {guard.writes}"

    never_a_server_error()
    changed = before.changes(Snapshot())
    assert not changed, f"GET {route} changed these tables (count, checksum): {changed}"
