"""The DatabaseBackend over the filesystem transport and with pickle; the CacheBackend on Redis."""
import datetime
import uuid

import pytest
from celery import chord, group, states
from celery.result import GroupResult as CeleryGroupResult

from results.models import ChordCounter, TaskResult
from tests.fixtures.celery_apps import current
from tests.services import REDIS_URL, redis_unreachable
from tests.support import clear_local_cache

from . import celery_app, tasks
from .test_database_backend import TIMEOUT, body_runs

pytestmark = pytest.mark.django_db(transaction=True)


class TestFilesystemTransport:
    """The embedded default broker: the SQLite file and several worker processes."""

    @pytest.fixture(autouse=True)
    def app(self, start_worker):
        start_worker("filesystem_app", concurrency=3, filesystem=True)
        with current(celery_app.filesystem_app):
            yield celery_app.filesystem_app

    def test_task_and_failure(self):
        assert tasks.add.delay(20, 22).get(timeout=TIMEOUT) == 42
        failed = tasks.fail.delay("fs")
        with pytest.raises(tasks.ExpectedFailure):
            failed.get(timeout=TIMEOUT)
        assert TaskResult.objects.get(task_id=failed.id).status == states.FAILURE

    def test_chord_on_several_processes(self, marker_dir):
        log = f"{marker_dir}/body.log"
        result = chord(tasks.sleep_then_return.s(0.02, i) for i in range(12))(tasks.record_body.s(log))
        assert result.get(timeout=60) == list(range(12))
        assert len(body_runs(log)) == 1 and not ChordCounter.objects.exists()


class TestPickle:
    @pytest.fixture(autouse=True)
    def app(self, start_worker):
        start_worker("pickle_app", concurrency=2)
        with current(celery_app.pickle_app):
            yield celery_app.pickle_app

    def test_python_values_round_trip_as_base64_text(self):
        result = tasks.python_values.delay(6)
        assert result.get(timeout=TIMEOUT) == {"when": datetime.date(2024, 5, 6), "tags": {"a", "b"}}
        task = TaskResult.objects.get(task_id=result.id)
        assert task.content_type == "application/x-python-serialize" and task.content_encoding == "binary"
        assert "when" not in task.result  # base64, not readable text

    def test_exception_class_survives(self):
        result = tasks.fail.delay("pickled")
        with pytest.raises(tasks.ExpectedFailure, match="pickled"):
            result.get(timeout=TIMEOUT)
        assert isinstance(result.result, tasks.ExpectedFailure)

    def test_chord(self):
        result = chord([tasks.as_set.s(1), tasks.as_set.s(2)])(tasks.python_values.si(7))
        assert result.get(timeout=TIMEOUT)["when"] == datetime.date(2024, 5, 7)


@pytest.mark.once  # results in Redis: the database under test plays no part
class TestCacheBackendOnRedis:
    @pytest.fixture(autouse=True)
    def app(self, start_worker, settings):
        if reason := redis_unreachable():
            pytest.skip(reason)
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
        start_worker("cache_app", concurrency=2, extra_env={"CACHE_URL": REDIS_URL})
        with current(celery_app.cache_app):
            yield celery_app.cache_app

    def test_results_states_and_expiry(self, app):
        result = tasks.add.delay(2, 2)
        assert result.get(timeout=TIMEOUT) == 4 and result.state == states.SUCCESS
        assert not TaskResult.objects.exists(), "results go to the cache, not the database"
        import redis

        ttl = redis.Redis.from_url(REDIS_URL).ttl(f":1:celery-task-meta-{result.id}")
        assert 0 < ttl <= app.conf.result_expires
        failed = tasks.fail.delay("cached")
        with pytest.raises(tasks.ExpectedFailure):
            failed.get(timeout=TIMEOUT)
        assert "ExpectedFailure" in failed.traceback

    def test_groups(self, app):
        result = group(tasks.add.s(i, i) for i in range(5)).apply_async()
        result.save()
        restored = CeleryGroupResult.restore(result.id, app=app)
        assert restored.get(timeout=TIMEOUT) == [0, 2, 4, 6, 8]
        restored.delete()
        assert CeleryGroupResult.restore(result.id, app=app) is None

    def test_the_shared_redis_is_never_flushed_between_tests(self, app):
        """Other runs' broker queues live in the same Redis database: emptying the cache must spare them."""
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        queue_of_another_run = f"e2e-sentinel-{uuid.uuid4().hex}"
        client.rpush(queue_of_another_run, "a message")
        try:
            clear_local_cache()
            assert client.llen(queue_of_another_run) == 1
        finally:
            client.delete(queue_of_another_run)

    def test_chord_through_celerys_fallback(self, app):
        result = chord(tasks.add.s(i, 1) for i in range(4))(tasks.total.s())
        assert result.get(timeout=TIMEOUT) == 10
        assert not ChordCounter.objects.exists()
