"""The JSON status views, through HTTP, over real result backends.

Results are stored through the backend's public API (``store_result``,
``GroupResult.save``), as a worker stores them, and read back through
the project's URLs by a user allowed to see them.
"""
import importlib
import uuid

import pytest
from celery import states
from celery.result import AsyncResult, GroupResult
from django.db import DatabaseError
from django.urls import NoReverseMatch, clear_url_caches, resolve, reverse
from django.urls.exceptions import Resolver404

import results.urls
from results.backends.database import DatabaseBackend
from results.models import TaskResult

pytestmark = pytest.mark.django_db

TRACEBACK = 'Traceback (most recent call last):\n  File "tasks.py", line 3, in add\nValueError: boom\n'


@pytest.fixture(params=["database", "memory"])
def app(request, current_celery_app):
    """The current Celery app, with this app's DatabaseBackend or Celery's in-memory backend."""
    if request.param == "database":
        return current_celery_app()
    return current_celery_app(result_backend="cache+memory://")


@pytest.fixture
def client(admin_client):
    return admin_client


def new_id():
    return str(uuid.uuid4())


def get_json(client, name, object_id, status=200):
    response = client.get(reverse(name, args=[object_id]))
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def store_group(app, states_and_results):
    """Store one task per (state, result) and a group of them; return the group id and task ids."""
    task_ids = []
    for state, result in states_and_results:
        task_id = new_id()
        if state != states.PENDING:
            app.backend.store_result(task_id, result, state, traceback=TRACEBACK if state == states.FAILURE else None)
        task_ids.append(task_id)
    group = GroupResult(new_id(), [AsyncResult(task_id, app=app) for task_id in task_ids], app=app)
    group.save()
    return group.id, task_ids


class TestTaskViews:
    def test_urls_have_the_spec_names_and_forms(self):
        assert reverse("celery-is_task_successful", args=["abc"]) == "/results/task/done/abc/"
        assert reverse("celery-task_status", args=["abc"]) == "/results/task/status/abc/"
        assert reverse("celery-is_group_successful", args=["g"]) == "/results/group/done/g/"
        assert reverse("celery-group_status", args=["g"]) == "/results/group/status/g/"

    def test_unknown_task_is_pending(self, app, client):
        task_id = new_id()
        assert get_json(client, "celery-is_task_successful", task_id) == {
            "task": {"id": task_id, "executed": False}
        }
        assert get_json(client, "celery-task_status", task_id) == {
            "task": {"id": task_id, "status": "PENDING", "result": None}
        }

    def test_success(self, app, client):
        task_id = new_id()
        app.backend.store_result(task_id, {"sum": 3, "items": [1, 2]}, states.SUCCESS)
        assert get_json(client, "celery-is_task_successful", task_id) == {
            "task": {"id": task_id, "executed": True}
        }
        assert get_json(client, "celery-task_status", task_id) == {
            "task": {"id": task_id, "status": "SUCCESS", "result": {"sum": 3, "items": [1, 2]}}
        }

    def test_failure_carries_exception_class_and_traceback(self, app, client):
        task_id = new_id()
        app.backend.store_result(task_id, ValueError("boom"), states.FAILURE, traceback=TRACEBACK)
        assert get_json(client, "celery-is_task_successful", task_id)["task"]["executed"] is False
        assert get_json(client, "celery-task_status", task_id) == {
            "task": {
                "id": task_id,
                "status": "FAILURE",
                "result": "ValueError('boom')",
                "exc": "builtins.ValueError",
                "traceback": TRACEBACK,
            }
        }

    def test_retry_shows_the_exception_too(self, app, client):
        task_id = new_id()
        app.backend.store_result(task_id, KeyError("later"), states.RETRY, traceback=TRACEBACK)
        data = get_json(client, "celery-task_status", task_id)["task"]
        assert data["status"] == "RETRY"
        assert data["exc"] == "builtins.KeyError" and data["result"] == "KeyError('later')"

    def test_started_and_custom_states(self, app, client):
        started, progress = new_id(), new_id()
        app.backend.store_result(started, {"pid": 12, "hostname": "w1"}, states.STARTED)
        app.backend.store_result(progress, {"done": 5, "total": 10}, "PROGRESS")
        assert get_json(client, "celery-task_status", started)["task"]["status"] == "STARTED"
        assert get_json(client, "celery-task_status", progress)["task"] == {
            "id": progress, "status": "PROGRESS", "result": {"done": 5, "total": 10},
        }

    def test_result_json_cannot_encode_is_shown_as_its_repr(self, current_celery_app, client):
        app = current_celery_app(
            result_serializer="pickle", accept_content=["json", "pickle"], result_accept_content=["json", "pickle"]
        )
        task_id = new_id()
        app.backend.store_result(task_id, {"ids": {1, 2}, "raw": b"\x00"}, states.SUCCESS)
        result = get_json(client, "celery-task_status", task_id)["task"]["result"]
        assert result == repr({"ids": {1, 2}, "raw": b"\x00"})

    def test_row_written_by_the_database_backend_is_read(self, current_celery_app, client):
        """A row as TaskResultManager.store_result writes it (JSON text columns)."""
        current_celery_app()
        TaskResult.objects.store_result("application/json", "utf-8", "row-1", '{"answer": 42}', states.SUCCESS)
        assert get_json(client, "celery-task_status", "row-1")["task"] == {
            "id": "row-1", "status": "SUCCESS", "result": {"answer": 42},
        }

    def test_one_query_per_task_view(self, current_celery_app, client, django_assert_max_num_queries):
        app = current_celery_app()
        task_id = new_id()
        app.backend.store_result(task_id, 1, states.SUCCESS)
        client.get("/")  # the session and user are loaded once
        # Session and user, then the task row.
        with django_assert_max_num_queries(3):
            get_json(client, "celery-task_status", task_id)


class TestBadInput:
    # Literal paths on purpose: ids outside the URL pattern cannot be reverse()d, and
    # resolve() is checked against the path a client sends.
    @pytest.mark.parametrize(
        "path",
        [
            "/results/task/status/not%20an%20id/",
            "/results/task/done/a/b/",
            "/results/group/status/%3Cscript%3E/",
            "/results/group/done/semi;colon/",
        ],
    )
    def test_ids_outside_the_pattern_are_a_json_404(self, client, path):
        response = client.get(path)
        assert response.status_code == 404
        assert "error" in response.json()

    def test_ids_in_the_pattern(self):
        for task_id in ("a1b2-c3", "task.name_1", "ÅäÖ-123", "0"):
            assert resolve(f"/results/task/status/{task_id}/").kwargs == {"task_id": task_id}

    def test_backend_failure_is_a_503_with_the_reason(self, current_celery_app, client, monkeypatch):
        app = current_celery_app()

        def broken(*args, **kwargs):
            raise DatabaseError("server closed the connection")

        monkeypatch.setattr(app.backend, "get_task_meta", broken)
        response = client.get(reverse("celery-task_status", args=["t1"]))
        assert response.status_code == 503
        assert response.json() == {
            "error": "Could not read task t1 from the result backend (django.db.utils.DatabaseError)."
        }

    def test_stored_result_that_cannot_be_decoded_is_a_503(self, current_celery_app, client):
        current_celery_app()
        TaskResult.objects.store_result("application/json", "utf-8", "bad", "{not json", states.SUCCESS)
        response = client.get(reverse("celery-task_status", args=["bad"]))
        assert response.status_code == 503
        assert "task bad" in response.json()["error"]


class TestGroupViews:
    def test_group_done(self, app, client):
        group_id, (ok, failed, pending) = store_group(
            app, [(states.SUCCESS, 1), (states.FAILURE, ValueError("x")), (states.PENDING, None)]
        )
        assert get_json(client, "celery-is_group_successful", group_id) == {
            "group": {
                "id": group_id,
                "results": [
                    {"id": ok, "executed": True},
                    {"id": failed, "executed": False},
                    {"id": pending, "executed": False},
                ],
            }
        }

    def test_group_status(self, app, client):
        group_id, _ = store_group(
            app, [(states.SUCCESS, [1, 2]), (states.FAILURE, ValueError("x")), (states.PENDING, None)]
        )
        assert get_json(client, "celery-group_status", group_id) == {
            "group": {
                "id": group_id,
                "results": [
                    {"result": [1, 2], "status": "SUCCESS"},
                    {
                        "result": "ValueError('x')",
                        "status": "FAILURE",
                        "exc": "builtins.ValueError",
                        "traceback": TRACEBACK,
                    },
                    {"result": None, "status": "PENDING"},
                ],
            }
        }

    def test_group_members_are_read_in_batches(self, current_celery_app, client, django_assert_max_num_queries):
        app = current_celery_app()
        group_id, task_ids = store_group(app, [(states.SUCCESS, i) for i in range(30)] + [(states.PENDING, None)])
        client.get("/")
        for name in ("celery-group_status", "celery-is_group_successful"):
            # Session and user, the group row, then its members in one query.
            with django_assert_max_num_queries(4):
                data = get_json(client, name, group_id)
            assert len(data["group"]["results"]) == 31
        statuses = [r["status"] for r in get_json(client, "celery-group_status", group_id)["group"]["results"]]
        assert statuses == ["SUCCESS"] * 30 + ["PENDING"]

    def test_unknown_group(self, app, client):
        group_id = new_id()
        assert get_json(client, "celery-is_group_successful", group_id) == {
            "group": {"id": group_id, "results": []}
        }
        assert get_json(client, "celery-group_status", group_id, status=404) == {
            "error": f"No group result is stored for group {group_id}."
        }


class TestLargeGroups:
    """A group's members are listed up to ``GROUP_RESULTS_LIMIT``, the answer saying so when it stops there."""

    SIZE, LIMIT = 3_000, 1_200

    @pytest.fixture
    def limit(self, settings):
        settings.DJANGO_CELERY_RESULTS = {**settings.DJANGO_CELERY_RESULTS, "GROUP_RESULTS_LIMIT": self.LIMIT}

    def large_group(self, app, size):
        task_ids = [f"member-{i:05d}" for i in range(size)]
        if isinstance(app.backend, DatabaseBackend):
            TaskResult.objects.bulk_create(
                TaskResult(task_id=task_id, status=states.SUCCESS, result=str(i), content_type="application/json",
                           content_encoding="utf-8")
                for i, task_id in enumerate(task_ids)
            )
        else:
            for i, task_id in enumerate(task_ids):
                app.backend.store_result(task_id, i, states.SUCCESS)
        group = GroupResult(new_id(), [AsyncResult(task_id, app=app) for task_id in task_ids], app=app)
        group.save()
        return group.id, task_ids

    def test_the_first_members_are_listed_with_the_total(self, app, client, limit):
        group_id, task_ids = self.large_group(app, self.SIZE)
        done = get_json(client, "celery-is_group_successful", group_id)["group"]
        assert (done["id"], done["truncated"], done["total"]) == (group_id, True, self.SIZE)
        assert done["results"] == [{"id": task_id, "executed": True} for task_id in task_ids[: self.LIMIT]]
        status = get_json(client, "celery-group_status", group_id)["group"]
        assert (status["id"], status["truncated"], status["total"]) == (group_id, True, self.SIZE)
        assert status["results"] == [{"result": i, "status": "SUCCESS"} for i in range(self.LIMIT)]

    def test_a_bounded_number_of_queries(self, current_celery_app, client, limit, django_assert_max_num_queries):
        group_id, _ = self.large_group(current_celery_app(), self.SIZE)
        client.get("/")
        for name in ("celery-is_group_successful", "celery-group_status"):
            # Session and user, the group row, its first members 500 ids a query.
            with django_assert_max_num_queries(6):
                assert len(get_json(client, name, group_id)["group"]["results"]) == self.LIMIT

    def test_a_group_up_to_the_limit_keeps_the_reference_shape(self, app, client, limit):
        group_id, task_ids = self.large_group(app, self.LIMIT)
        assert get_json(client, "celery-is_group_successful", group_id) == {
            "group": {"id": group_id, "results": [{"id": task_id, "executed": True} for task_id in task_ids]}
        }
        assert get_json(client, "celery-group_status", group_id) == {
            "group": {"id": group_id, "results": [{"result": i, "status": "SUCCESS"} for i in range(self.LIMIT)]}
        }

    def test_the_default_limit(self, settings):
        from results.conf import group_results_limit

        settings.DJANGO_CELERY_RESULTS = {}
        assert group_results_limit() == 1_000


@pytest.fixture
def reload_results_urls(settings):
    """Reload ``results.urls`` under the settings a test sets; restore it afterwards."""

    def reload(**overrides):
        for name, value in overrides.items():
            setattr(settings, name, value)
        importlib.reload(results.urls)
        settings.ROOT_URLCONF = "results.urls"
        clear_url_caches()

    yield reload
    importlib.reload(results.urls)
    clear_url_caches()


class TestLegacyRoutes:
    def test_id_first_routes_by_default(self, app, client, reload_results_urls):
        reload_results_urls()
        task_id = new_id()
        app.backend.store_result(task_id, 7, states.SUCCESS)
        assert client.get(f"/{task_id}/done/").json() == {"task": {"id": task_id, "executed": True}}
        assert client.get(f"/{task_id}/status/").json()["task"]["result"] == 7
        group_id, _ = store_group(app, [(states.SUCCESS, 1)])
        assert client.get(f"/{group_id}/group/done/").json()["group"]["results"][0]["executed"] is True
        assert client.get(f"/{group_id}/group/status/").json()["group"]["results"] == [
            {"result": 1, "status": "SUCCESS"}
        ]
        # reverse() still answers the noun-first form.
        assert reverse("celery-task_status", args=[task_id]) == f"/task/status/{task_id}/"

    def test_setting_false_drops_them(self, reload_results_urls):
        reload_results_urls(DJANGO_CELERY_RESULTS_ID_FIRST_URLS=False)
        assert resolve("/task/done/abc/").url_name == "celery-is_task_successful"
        for path in ("/abc/done/", "/abc/status/", "/abc/group/done/", "/abc/group/status/"):
            with pytest.raises(Resolver404):
                resolve(path)
        with pytest.raises(NoReverseMatch):
            reverse("celery-task_status", kwargs={"task_id": "a b"})
