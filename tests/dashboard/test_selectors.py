"""``dashboard.selectors``: every query the dashboard runs; named results, bounded reads."""


from dashboard import selectors
from tests import factories


def test_facet_choices_say_whether_they_are_all_of_them(make_task, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "FACET_LIMIT": 2}
    for worker in ("w1", "w2"):
        make_task(worker=worker)
    assert selectors.facet_choices("worker") == selectors.FacetChoices(["w1", "w2"], complete=True)
    make_task(worker="w3")
    assert selectors.facet_choices("worker") == selectors.FacetChoices(["w1", "w2"], complete=False)


def test_stored_tasks_reads_a_batch_of_ids_per_query(make_task, settings, django_assert_num_queries):
    settings.DJANGO_CELERY_RESULTS = {"ID_BATCH_SIZE": 2}
    tasks = [make_task() for _ in range(5)]
    with django_assert_num_queries(3):
        rows = selectors.stored_tasks([t.task_id for t in tasks] + ["missing"], ("status",))
    assert set(rows) == {t.task_id for t in tasks}


def test_a_tasks_history_names_its_actions_its_retries_and_its_original(db, django_assert_num_queries):
    entry = factories.audit_entry(
        [{"task_id": "original", "ok": True, "new_task_id": "again"}, {"task_id": "other", "ok": False}],
        username="op", task_count=1,
    )
    with django_assert_num_queries(1):
        original = selectors.task_history("original")
    assert [row.task_id for row in original.entries] == ["original"] and original.entries[0].entry == entry
    assert original.retries == ["again"] and original.retry_of is None
    again = selectors.task_history("again")
    assert again == selectors.TaskHistory(entries=[], retries=[], retry_of="original")


def test_header_tasks_and_group_members_are_named(make_task):
    task = make_task(status="STARTED")
    header = selectors.header_task_rows([task.task_id, "gone"])
    assert list(header) == [task.task_id] and header[task.task_id].status == "STARTED"
    assert header[task.task_id].date_created == task.date_created
    members = selectors.group_members([task.task_id, "gone"])
    assert [(m.task_id, m.row) for m in members] == [(task.task_id, task), ("gone", None)]


def test_the_same_arguments_runs_and_whether_every_run_was_looked_at(make_task, settings):
    first, second = make_task(task_args="[7]"), make_task(task_args="[7]")
    make_task(task_args="[8]")
    same = selectors.runs_with_same_arguments(second)
    assert same.runs == [first] and same.scanned_all
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "SAME_ARGS_SCAN": 1}
    assert not selectors.runs_with_same_arguments(second).scanned_all
