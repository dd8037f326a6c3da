"""The results admin: read-only unless ALLOW_EDITS, the terminate action, fast changelists."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from celery import states
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

import results.admin
from results.counting import EstimatedCountPaginator
from results.models import ChordCounter, GroupResult, TaskResult

pytestmark = pytest.mark.django_db

TASKS_URL = reverse("admin:results_taskresult_changelist")
GROUPS_URL = reverse("admin:results_groupresult_changelist")
CHORDS_URL = reverse("admin:results_chordcounter_changelist")


@pytest.fixture
def allow_edits(settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}


@pytest.fixture
def no_edits(settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": False}


def make_task(task_id="t1", status=states.SUCCESS, **fields):
    return TaskResult.objects.create(task_id=task_id, status=status, **fields)


def set_date_done(task_ids, when):
    """``date_done`` is auto_now on save; an update sets it to a chosen time."""
    TaskResult.objects.filter(task_id__in=task_ids).update(date_done=when)


def action_names(response):
    action_form = response.context["action_form"]
    return [] if action_form is None else [name for name, _ in action_form.fields["action"].choices if name]


def message_list(response):
    return [(m.level, m.message) for m in messages.get_messages(response.wsgi_request)]


class TestReadOnlyWithoutEdits:
    def test_change_page_shows_every_field_read_only(self, admin_client, no_edits):
        task = make_task(task_name="app.add", task_args="[1, 2]", worker="w1", traceback="tb")
        response = admin_client.get(reverse("admin:results_taskresult_change", args=[task.pk]))
        assert response.status_code == 200
        assert response.context["adminform"].form.fields == {}
        content = response.content.decode()
        assert 'name="task_name"' not in content and 'name="_save"' not in content
        assert "app.add" in content and "[1, 2]" in content

    def test_nothing_can_be_added_changed_or_deleted(self, admin_client, no_edits):
        task = make_task()
        change = reverse("admin:results_taskresult_change", args=[task.pk])
        assert admin_client.get(reverse("admin:results_taskresult_add")).status_code == 403
        assert admin_client.post(change, {"task_id": "x", "status": "FAILURE"}).status_code == 403
        delete = reverse("admin:results_taskresult_delete", args=[task.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        task.refresh_from_db()
        assert task.task_id == "t1" and task.status == states.SUCCESS

    def test_no_actions_are_offered_or_run(self, admin_client, no_edits, monkeypatch):
        task = make_task()
        response = admin_client.get(TASKS_URL)
        assert action_names(response) == []
        assert b'name="action"' not in response.content
        calls = fake_control(monkeypatch)
        for action in ("delete_selected", "terminate_task"):
            admin_client.post(TASKS_URL, {"action": action, "_selected_action": [task.pk], "post": "yes"})
        assert TaskResult.objects.filter(pk=task.pk).exists() and calls == []

    def test_groups_are_read_only_too(self, admin_client, no_edits):
        group = GroupResult.objects.create(group_id="g1", result='["g1", []]')
        response = admin_client.get(reverse("admin:results_groupresult_change", args=[group.pk]))
        assert response.status_code == 200 and response.context["adminform"].form.fields == {}
        assert action_names(admin_client.get(GROUPS_URL)) == []
        assert admin_client.get(reverse("admin:results_groupresult_add")).status_code == 403

    def test_setting_is_read_at_request_time(self, admin_client, settings):
        settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": False}
        assert admin_client.get(reverse("admin:results_taskresult_add")).status_code == 403
        settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
        assert admin_client.get(reverse("admin:results_taskresult_add")).status_code == 200


class TestEditable:
    def test_spec_fields_are_editable_and_the_rest_read_only(self, admin_client, allow_edits):
        task = make_task(task_name="app.add")
        response = admin_client.get(reverse("admin:results_taskresult_change", args=[task.pk]))
        editable = set(response.context["adminform"].form.fields)
        assert editable == {
            "task_id", "task_name", "periodic_task_name", "status", "worker",
            "content_type", "content_encoding", "task_args", "task_kwargs", "traceback",
        }
        assert set(response.context["adminform"].readonly_fields) == {
            "date_created", "date_started", "date_done", "result", "meta",
        }

    def test_a_change_is_saved(self, admin_client, allow_edits):
        task = make_task(task_name="app.add", content_type="application/json", content_encoding="utf-8")
        response = admin_client.post(
            reverse("admin:results_taskresult_change", args=[task.pk]),
            {
                "task_id": "t1", "task_name": "app.add", "periodic_task_name": "", "status": "REVOKED",
                "worker": "", "content_type": "application/json", "content_encoding": "utf-8",
                "task_args": "", "task_kwargs": "", "traceback": "",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        task.refresh_from_db()
        assert task.status == states.REVOKED

    def test_actions_are_offered(self, admin_client, allow_edits):
        make_task()
        assert set(action_names(admin_client.get(TASKS_URL))) == {"delete_selected", "terminate_task"}

    def test_delete_action_deletes(self, admin_client, allow_edits):
        task = make_task()
        admin_client.post(TASKS_URL, {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes"})
        assert not TaskResult.objects.exists()

    def test_view_only_staff_still_cannot_change(self, client, django_user_model, allow_edits):
        user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_taskresult"))
        client.force_login(user)
        task = make_task()
        response = client.get(reverse("admin:results_taskresult_change", args=[task.pk]))
        assert response.status_code == 200 and response.context["adminform"].form.fields == {}
        assert action_names(client.get(TASKS_URL)) == []


class FakeControl:
    def __init__(self, error=None):
        self.calls, self.error = [], error

    def terminate(self, task_ids):
        self.calls.append(task_ids)
        if self.error:
            raise self.error


def fake_control(monkeypatch, error=None):
    control = FakeControl(error)

    class FakeApp:
        pass

    app = FakeApp()
    app.control = control
    monkeypatch.setattr(results.admin, "celery_app", app)
    return control.calls


class TestTerminateAction:
    def test_success(self, admin_client, allow_edits, monkeypatch):
        calls = fake_control(monkeypatch)
        tasks = [make_task("a", states.STARTED), make_task("b", states.STARTED), make_task("c")]
        response = admin_client.post(
            TASKS_URL, {"action": "terminate_task", "_selected_action": [tasks[0].pk, tasks[1].pk]}, follow=True
        )
        assert len(calls) == 1 and sorted(calls[0]) == ["a", "b"]
        assert message_list(response) == [(messages.SUCCESS, "2 task(s) was terminated successfully.")]

    def test_failure(self, admin_client, allow_edits, monkeypatch):
        calls = fake_control(monkeypatch, error=ConnectionError("broker unreachable"))
        task = make_task("a", states.STARTED)
        response = admin_client.post(
            TASKS_URL, {"action": "terminate_task", "_selected_action": [task.pk]}, follow=True
        )
        assert calls == [["a"]]
        assert message_list(response) == [(messages.ERROR, "Error while terminating tasks: broker unreachable")]

    def test_module_level_app_is_celerys_current_app(self):
        from celery import current_app

        assert results.admin.celery_app is current_app


class TestChordCounterAdmin:
    def test_read_only_list_with_sub_task_count(self, admin_client, allow_edits):
        counter = ChordCounter.objects.create(
            group_id="chord-1", sub_tasks=json.dumps([[["a", None], None], [["b", None], None]]), count=1
        )
        response = admin_client.get(CHORDS_URL)
        assert response.status_code == 200
        row = response.context["cl"].result_list[0]
        assert row == counter
        assert response.context["cl"].model_admin.sub_task_count(row) == 2
        assert b"chord-1" in response.content
        assert action_names(response) == []
        assert admin_client.get(reverse("admin:results_chordcounter_add")).status_code == 403
        change = admin_client.get(reverse("admin:results_chordcounter_change", args=[counter.pk]))
        assert change.status_code == 200 and change.context["adminform"].form.fields == {}

    def test_unreadable_sub_tasks_show_no_count(self):
        admin = results.admin.ChordCounterAdmin(ChordCounter, None)
        assert admin.sub_task_count(ChordCounter(group_id="x", sub_tasks="not json", count=0)) is None


class TestSearch:
    @pytest.fixture
    def tasks(self):
        make_task("3f1c-aaaa", task_name="app.tasks.send_email", task_args='["bob@example.com"]')
        make_task("77aa-bbbb", states.FAILURE, task_name="app.tasks.add", task_kwargs='{"x": 1}')
        make_task("9d9d-cccc", task_name="app.tasks.add")

    def search(self, client, term):
        response = client.get(TASKS_URL, {"q": term})
        assert response.status_code == 200
        return sorted(task.task_id for task in response.context["cl"].result_list)

    def test_plain_terms_match_exactly(self, admin_client, tasks):
        assert self.search(admin_client, "77aa-bbbb") == ["77aa-bbbb"]
        assert self.search(admin_client, "77aa") == []
        assert self.search(admin_client, "app.tasks.add") == ["77aa-bbbb", "9d9d-cccc"]
        assert self.search(admin_client, "failure") == ["77aa-bbbb"]
        assert self.search(admin_client, "bob") == []

    def test_prefixes_ask_for_substring_search(self, admin_client, tasks):
        assert self.search(admin_client, "args: bob@") == ["3f1c-aaaa"]
        assert self.search(admin_client, "args:\"x\"") == ["77aa-bbbb"]
        assert self.search(admin_client, "name:send") == ["3f1c-aaaa"]
        assert self.search(admin_client, "NAME:ADD") == ["77aa-bbbb", "9d9d-cccc"]

    def test_plain_search_reads_no_text_column(self, admin_client, tasks, django_assert_max_num_queries):
        with django_assert_max_num_queries(20) as captured:
            self.search(admin_client, "bob")
        conditions = [
            q["sql"].split("WHERE", 1)[1]
            for q in captured.captured_queries
            if "results_taskresult" in q["sql"] and "WHERE" in q["sql"]
        ]
        assert conditions
        for condition in conditions:
            assert "task_args" not in condition and "task_kwargs" not in condition
            assert "LIKE" not in condition.upper()

    def test_groups_search_by_exact_id(self, admin_client):
        GroupResult.objects.create(group_id="g-1234")
        GroupResult.objects.create(group_id="g-5678")
        response = admin_client.get(GROUPS_URL, {"q": "g-1234"})
        assert [g.group_id for g in response.context["cl"].result_list] == ["g-1234"]


class TestListFilters:
    def filter_choices(self, response, title):
        spec = next(spec for spec in response.context["cl"].filter_specs if str(spec.title) == title)
        return [choice["display"] for choice in spec.choices(response.context["cl"])]

    def test_choices_come_from_the_recent_rows(self, admin_client, monkeypatch):
        monkeypatch.setattr("results.admin_filters.RECENT_WINDOW", 2)
        make_task("old", task_name="app.old", worker="w-old")
        set_date_done(["old"], datetime(2020, 1, 1, tzinfo=UTC))
        make_task("new1", task_name="app.new", worker="w1", status="CUSTOM")
        make_task("new2", task_name="app.other", worker=None)
        response = admin_client.get(TASKS_URL)
        assert self.filter_choices(response, "Task Name") == ["All", "app.new", "app.other"]
        assert self.filter_choices(response, "Worker") == ["All", "w1", "-"]
        status_choices = self.filter_choices(response, "Task State")
        assert "CUSTOM" in status_choices and "FAILURE" in status_choices and "PENDING" in status_choices

    def test_selected_value_is_offered_even_when_not_recent(self, admin_client, monkeypatch):
        monkeypatch.setattr("results.admin_filters.RECENT_WINDOW", 1)
        make_task("old", task_name="app.old")
        set_date_done(["old"], datetime(2020, 1, 1, tzinfo=UTC))
        make_task("new", task_name="app.new")
        response = admin_client.get(TASKS_URL, {"task_name": "app.old"})
        assert [t.task_id for t in response.context["cl"].result_list] == ["old"]
        assert self.filter_choices(response, "Task Name") == ["All", "app.new", "app.old"]

    def test_filtering_by_each_filter(self, admin_client):
        make_task("a", task_name="app.a", worker="w1", periodic_task_name="nightly")
        make_task("b", states.FAILURE, task_name="app.b", worker="w2")
        for params, expected in [
            ({"status": "FAILURE"}, ["b"]),
            ({"task_name": "app.a"}, ["a"]),
            ({"worker": "w2"}, ["b"]),
            ({"periodic_task_name": "nightly"}, ["a"]),
            ({"worker__isnull": "True"}, []),
        ]:
            response = admin_client.get(TASKS_URL, params)
            assert sorted(t.task_id for t in response.context["cl"].result_list) == expected, params


class TestDateHierarchy:
    @pytest.fixture
    def spread(self):
        dates = {
            "y2023": datetime(2023, 12, 31, 12, tzinfo=UTC),
            "march-2": datetime(2025, 3, 2, 9, tzinfo=UTC),
            "march-2b": datetime(2025, 3, 2, 18, tzinfo=UTC),
            "march-20": datetime(2025, 3, 20, 9, tzinfo=UTC),
            "june": datetime(2025, 6, 1, 0, 30, tzinfo=UTC),
        }
        for task_id, when in dates.items():
            make_task(task_id)
            set_date_done([task_id], when)

    def links(self, client, params):
        response = client.get(TASKS_URL, params)
        assert response.status_code == 200
        content = response.content.decode()
        nav = content[content.index('<nav class="toplinks">') : content.index("</nav>", content.index("toplinks"))]
        return response, nav

    def test_years_with_rows_only(self, admin_client, spread):
        _, nav = self.links(admin_client, {})
        assert "date_done__year=2023" in nav and "date_done__year=2025" in nav
        assert "date_done__year=2024" not in nav

    def test_months_of_a_year(self, admin_client, spread):
        response, nav = self.links(admin_client, {"date_done__year": "2025"})
        assert "date_done__month=3" in nav and "date_done__month=6" in nav
        assert "date_done__month=4" not in nav and "All dates" in nav
        assert sorted(t.task_id for t in response.context["cl"].result_list) == [
            "june", "march-2", "march-20", "march-2b",
        ]

    def test_days_of_a_month(self, admin_client, spread):
        _, nav = self.links(admin_client, {"date_done__year": "2025", "date_done__month": "3"})
        assert "date_done__day=2" in nav and "date_done__day=20" in nav
        assert nav.count("date_done__day=") == 2

    def test_one_day(self, admin_client, spread):
        response, nav = self.links(
            admin_client, {"date_done__year": "2025", "date_done__month": "3", "date_done__day": "2"}
        )
        assert "March 2" in nav and "date_done__month=3" in nav
        assert sorted(t.task_id for t in response.context["cl"].result_list) == ["march-2", "march-2b"]

    def test_single_month_starts_at_its_days(self, admin_client):
        make_task("a")
        make_task("b")
        set_date_done(["a"], datetime(2025, 3, 2, 9, tzinfo=UTC))
        set_date_done(["b"], datetime(2025, 3, 5, 9, tzinfo=UTC))
        _, nav = self.links(admin_client, {})
        assert "date_done__day=2" in nav and "date_done__day=5" in nav

    def test_local_time_zone_decides_the_day(self, admin_client, spread, settings):
        # 2025-06-01 00:30 UTC is still May 31 in New York.
        settings.TIME_ZONE = "America/New_York"
        _, nav = self.links(admin_client, {"date_done__year": "2025"})
        assert "date_done__month=5" in nav and "date_done__month=6" not in nav

    def test_no_rows(self, admin_client):
        response = admin_client.get(TASKS_URL)
        assert response.status_code == 200

    def test_no_distinct_date_scan(self, admin_client, spread, django_assert_max_num_queries):
        for params in ({}, {"date_done__year": "2025"}, {"date_done__year": "2025", "date_done__month": "3"}):
            with django_assert_max_num_queries(20) as captured:
                admin_client.get(TASKS_URL, params)
            sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
            assert "DISTINCT" not in sql, params


class TestChangelistQueries:
    """The changelist's query count does not grow with the table, and no query scans it."""

    ROWS = 450

    @pytest.fixture
    def many_tasks(self):
        TaskResult.objects.bulk_create(
            TaskResult(
                task_id=f"task-{i}", status=(states.SUCCESS, states.FAILURE, states.STARTED)[i % 3],
                task_name=f"app.tasks.t{i % 7}", worker=f"celery@w{i % 4}",
                periodic_task_name="nightly" if i % 10 == 0 else None,
            )
            for i in range(self.ROWS)
        )
        start = datetime(2024, 11, 20, tzinfo=UTC)
        for i in range(0, self.ROWS, 50):
            ids = [f"task-{j}" for j in range(i, i + 50)]
            set_date_done(ids, start + timedelta(days=i // 50 * 9))

    @pytest.fixture
    def large_table(self, monkeypatch):
        """Pass the paginator's estimate threshold, with fresh statistics where the database keeps them."""
        monkeypatch.setattr(EstimatedCountPaginator, "threshold", 100)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE results_taskresult")

    def get(self, client, django_assert_max_num_queries, params, max_queries):
        client.get(reverse("admin:index"))  # log-in session already loaded once
        with django_assert_max_num_queries(max_queries) as captured:
            response = client.get(TASKS_URL, params)
        assert response.status_code == 200
        return response, [q["sql"].upper() for q in captured.captured_queries]

    def test_unfiltered_page(self, admin_client, many_tasks, large_table, django_assert_max_num_queries):
        response, sql = self.get(admin_client, django_assert_max_num_queries, {}, 8)
        assert len(response.context["cl"].result_list) == 100
        assert not [q for q in sql if "COUNT(" in q], sql
        # The page reads the listed columns, not the argument and result blobs.
        (page,) = [q for q in sql if "TASK_ID" in q and "LIMIT 100" in q]
        assert "TASK_ARGS" not in page and "TRACEBACK" not in page and "STATUS" in page
        assert not [q for q in sql if "DISTINCT" in q], sql

    def test_filtered_and_searched_pages(self, admin_client, many_tasks, large_table, django_assert_max_num_queries):
        for params in (
            {"status": "FAILURE", "task_name": "app.tasks.t3"},
            {"worker": "celery@w1", "date_done__year": "2024"},
            {"q": "app.tasks.t2"},
            {"p": "3"},
        ):
            response, sql = self.get(admin_client, django_assert_max_num_queries, params, 8)
            assert not [q for q in sql if "DISTINCT" in q], (params, sql)
            counts = [q for q in sql if "COUNT(" in q]
            # A filtered count is bounded: it stops after the paginator's limit.
            assert all("LIMIT" in q for q in counts), (params, counts)
            assert response.context["cl"].result_list, params

    def test_query_count_does_not_grow_with_rows(
        self, admin_client, many_tasks, large_table, django_assert_max_num_queries
    ):
        _, before = self.get(admin_client, django_assert_max_num_queries, {}, 8)
        TaskResult.objects.bulk_create(TaskResult(task_id=f"more-{i}", task_name=f"app.more{i}") for i in range(300))
        _, after = self.get(admin_client, django_assert_max_num_queries, {}, 8)
        assert len(after) == len(before)

    def test_group_changelist(self, admin_client, django_assert_max_num_queries):
        GroupResult.objects.bulk_create(GroupResult(group_id=f"g{i}") for i in range(150))
        admin_client.get(reverse("admin:index"))
        with django_assert_max_num_queries(8) as captured:
            response = admin_client.get(GROUPS_URL)
        assert response.status_code == 200 and len(response.context["cl"].result_list) == 100
        assert not [q for q in captured.captured_queries if "DISTINCT" in q["sql"].upper()]


class TestBadParameters:
    """Parameters the admin cannot query with are refused with its "invalid parameters" redirect."""

    @pytest.mark.parametrize(
        "params",
        [
            {"date_done__year": "9999"},
            {"date_done__year": "0"},
            {"date_done__month": "abc"},
            {"q": "a\x00b"},
            {"q": "args:a\x00b"},
            {"task_name": "a\x00b"},
        ],
    )
    def test_refused(self, admin_client, params):
        make_task()
        response = admin_client.get(TASKS_URL, params)
        assert response.status_code == 302 and response["Location"].endswith("?e=1")

    @pytest.mark.parametrize(
        "params",
        [{"date_done__month": "3"}, {"date_done__day": "2"}, {"status": "x" * 500}, {"q": "x" * 5000}, {"p": "999999"}],
    )
    def test_odd_but_valid(self, admin_client, params):
        make_task()
        assert admin_client.get(TASKS_URL, params).status_code == 200


class TestHostileDateDrillDown:
    """Any date drill-down value gets an admin answer on both dated changelists, never a server error."""

    @pytest.fixture(params=[TASKS_URL, GROUPS_URL], ids=["tasks", "groups"])
    def changelist(self, request):
        make_task()
        GroupResult.objects.create(group_id="g1")
        return request.param

    @pytest.mark.parametrize(
        "params",
        [
            {"date_done__year": "99999999999999999999"},
            {"date_done__year": "-99999999999999999999"},
            {"date_done__year": "-5"},
            {"date_done__year": "abc"},
            {"date_done__year": "2024", "date_done__month": "1", "date_done__day": "-9999999999"},
            {"date_done__year": "2024", "date_done__month": "99999999999999999999"},
            {"date_done__year": "2024", "date_done__month": "13"},
            {"date_done__year": "2024", "date_done__month": "x"},
            {"date_done__year": "2024", "date_done__month": "2", "date_done__day": "0"},
            {"date_done__year": "2024", "date_done__month": "2", "date_done__day": "30"},
            # The period's end is past the last date Python can hold.
            {"date_done__year": "9999", "date_done__month": "12"},
            {"date_done__year": "9999", "date_done__month": "12", "date_done__day": "31"},
        ],
    )
    def test_a_bad_drill_down_is_the_invalid_parameters_redirect(self, admin_client, changelist, params):
        response = admin_client.get(changelist, params)
        assert response.status_code == 302 and response["Location"] == f"{changelist}?e=1"
        assert admin_client.get(response["Location"]).status_code == 200

    def test_a_day_that_has_no_utc_date_is_refused(self, admin_client, changelist, settings):
        # 0001-01-01 00:00 in Tokyo is before the first UTC instant the database can be given.
        settings.TIME_ZONE = "Asia/Tokyo"
        response = admin_client.get(changelist, {"date_done__year": "1"})
        assert response.status_code == 302 and response["Location"] == f"{changelist}?e=1"

    @pytest.mark.parametrize(
        "params",
        [
            {"date_done__month": "99999999999999999999"},
            {"date_done__month": "13"},
            {"date_done__day": "0"},
            {"date_done__day": "-99999999999999999999"},
        ],
    )
    def test_a_month_or_day_alone_out_of_range_lists_nothing(self, admin_client, changelist, params):
        response = admin_client.get(changelist, params)
        assert response.status_code == 200 and list(response.context["cl"].result_list) == []


class TestEmptyIds:
    """A row stored with an empty id is listed, and linked, as "(empty id)" (Django would link a blank)."""

    def test_each_list_names_it_and_its_page_opens(self, admin_client):
        task = TaskResult.objects.create(task_id="")
        group = GroupResult.objects.create(group_id="")
        counter = ChordCounter.objects.create(group_id="", sub_tasks="[]", count=0)
        for url, row in ((TASKS_URL, task), (GROUPS_URL, group), (CHORDS_URL, counter)):
            response = admin_client.get(url)
            assert response.status_code == 200
            change = reverse(f"admin:results_{row._meta.model_name}_change", args=[row.pk])
            assert f'<a href="{change}">(empty id)</a>' in response.content.decode()
            assert admin_client.get(change).status_code == 200
