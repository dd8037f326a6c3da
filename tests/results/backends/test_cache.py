"""CacheBackend over Django's local-memory cache and, when reachable, Redis (database 1)."""
import time
import uuid

import pytest
from celery import states
from celery.result import AsyncResult
from celery.result import GroupResult as CeleryGroupResult
from django.core.cache import caches

from results.backends import CacheBackend
from tests.services import REDIS_URL, redis_unreachable

from .helpers import make_request

#: The cache backend never touches the database under test.
pytestmark = pytest.mark.once

CACHE_CONFIGS = {
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "results-tests"},
    "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
}


@pytest.fixture(params=sorted(CACHE_CONFIGS))
def cache_alias(request, settings):
    if request.param == "redis" and (reason := redis_unreachable()):
        pytest.skip(reason)
    # A key prefix of the test's own: runs in parallel never share entries,
    # and only this test's entries are removed afterwards (``clear()`` would
    # flush the whole Redis database, broker queues included).
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "results": {**CACHE_CONFIGS[request.param], "KEY_PREFIX": prefix}}
    yield "results"
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    else:
        caches["results"].clear()


@pytest.fixture
def backend(make_app, cache_alias):
    return make_app(result_backend="results.backends:CacheBackend", cache_backend=cache_alias).backend


def test_configured_by_its_import_path(backend):
    assert isinstance(backend, CacheBackend)
    assert backend.cache_backend is caches["results"]


def test_default_cache_when_no_cache_backend_is_named(make_app):
    backend = make_app(result_backend="results.backends:CacheBackend").backend
    assert backend.cache_backend is caches["default"]


def test_result_round_trip(backend):
    backend.mark_as_done("t1", {"total": 3}, request=make_request("t1"))
    result = AsyncResult("t1", backend=backend, app=backend.app)
    assert result.state == states.SUCCESS and result.get(timeout=1) == {"total": 3}
    assert result.result == {"total": 3} and result.date_done is not None


def test_keys_are_text_and_values_are_stored_by_the_cache(backend):
    backend.mark_as_done("t1", 3, request=make_request("t1"))
    stored = backend.cache_backend.get("celery-task-meta-t1")
    assert isinstance(stored, dict) and stored["result"] == 3 and stored["status"] == states.SUCCESS


def test_failure_keeps_the_exception_and_traceback(backend):
    backend.mark_as_failure("t1", KeyError("missing"), traceback="tb", request=make_request("t1"))
    result = AsyncResult("t1", backend=backend, app=backend.app)
    assert result.state == states.FAILURE and isinstance(result.result, KeyError)
    assert result.traceback == "tb"


def test_custom_state_and_unknown_task(backend):
    backend.store_result("t1", {"step": 1}, "PROGRESS")
    assert AsyncResult("t1", backend=backend, app=backend.app).info == {"step": 1}
    assert AsyncResult("nope", backend=backend, app=backend.app).state == states.PENDING


def test_forget(backend):
    backend.mark_as_done("t1", 1, request=make_request("t1"))
    AsyncResult("t1", backend=backend, app=backend.app).forget()
    assert backend.get_task_meta("t1", cache=False)["status"] == states.PENDING


def test_groups_save_restore_delete(backend):
    group = CeleryGroupResult("g1", [AsyncResult("a", app=backend.app)], app=backend.app)
    group.save(backend=backend)
    restored = CeleryGroupResult.restore("g1", backend=backend, app=backend.app)
    assert [r.id for r in restored.results] == ["a"]
    restored.delete(backend=backend)
    assert CeleryGroupResult.restore("g1", backend=backend, app=backend.app) is None
    backend.delete_group("never-saved")


def test_group_results_are_read_in_one_call(backend):
    for task_id in ("a", "b"):
        backend.mark_as_done(task_id, task_id.upper(), request=make_request(task_id))
    members = [AsyncResult(t, backend=backend, app=backend.app) for t in ("a", "b")]
    group = CeleryGroupResult("g1", members, app=backend.app)
    assert group.join_native(timeout=1) == ["A", "B"]


def test_entries_expire_after_result_expires(make_app, cache_alias):
    backend = make_app(
        result_backend="results.backends:CacheBackend", cache_backend=cache_alias, result_expires=1
    ).backend
    backend.mark_as_done("t1", 1, request=make_request("t1"))
    assert backend.get_task_meta("t1", cache=False)["status"] == states.SUCCESS
    time.sleep(1.5)
    assert backend.get_task_meta("t1", cache=False)["status"] == states.PENDING
