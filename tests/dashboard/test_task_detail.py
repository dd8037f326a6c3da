"""One task's page: facts, decoded args/result, traceback, children, group, same-args runs."""
import base64
import json
import pickle
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

TRACEBACK = '''Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/celery/app/trace.py", line 453, in trace_task
    R = retval = fun(*args, **kwargs)
  File "/srv/app/shop/tasks.py", line 42, in charge_card
    gateway.charge(order_id, amount)
  File "/srv/app/shop/gateway.py", line 17, in charge
    raise PaymentDeclined(f"card declined for {order_id}")
shop.gateway.PaymentDeclined: card declined for 1234
'''

CHAINED = '''Traceback (most recent call last):
  File "/srv/app/shop/db.py", line 5, in fetch
    return cursor.execute(sql)
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/shop/tasks.py", line 9, in sync
    fetch()
RuntimeError: sync failed
'''


def detail(client, task):
    return client.get(reverse("dashboard:task", args=[task.task_id]))


def test_shows_every_fact_with_runtime_and_queue_wait(client_viewer, make_task):
    now = timezone.now()
    task = make_task(
        task_name="shop.tasks.charge", worker="celery@pay-1", periodic_task_name="hourly-charges",
        date_created=now - timedelta(seconds=75), date_started=now - timedelta(seconds=60), date_done=now,
    )
    response = detail(client_viewer, task)
    assert response.status_code == 200
    html = response.content.decode()
    for text in (task.task_id, "shop.tasks.charge", "celery@pay-1", "hourly-charges", "1 min 00 s", "15.0 s"):
        assert text in html
    assert "?worker=celery%40pay-1" in html and "?task_name=shop.tasks.charge" in html


def test_a_running_task_shows_updated_not_done(client_viewer, make_task):
    task = make_task(status="STARTED")
    html = detail(client_viewer, task).content.decode()
    assert "Last updated" in html and "not finished" in html


def test_json_arguments_and_result_are_pretty_printed(client_viewer, make_task):
    task = make_task(
        task_args=json.dumps([1, {"b": 2}]), task_kwargs=json.dumps({"x": [1, 2]}), result=json.dumps({"total": 3})
    )
    response = detail(client_viewer, task)
    assert response.context["args"].pretty and '"b": 2' in response.context["args"].text
    assert response.context["kwargs"].value == {"x": [1, 2]}
    assert response.context["result"].text == '{\n  "total": 3\n}'


def test_argsrepr_text_is_parsed_when_it_is_a_literal(client_viewer, make_task):
    task = make_task(task_args=json.dumps("(1, 'a', {'k': None})"), task_kwargs=json.dumps("{'to': 'x@example.com'}"))
    response = detail(client_viewer, task)
    assert response.context["args"].value == (1, "a", {"k": None})
    assert '"to": "x@example.com"' in response.context["kwargs"].text


def test_unparsable_arguments_are_shown_raw(client_viewer, make_task):
    task = make_task(task_args=json.dumps("(<object at 0x7f>, 1)"), task_kwargs="not json at all {")
    response = detail(client_viewer, task)
    assert response.context["args"].text == "(<object at 0x7f>, 1)" and not response.context["args"].pretty
    assert response.context["kwargs"].text == "not json at all {"
    assert "&lt;object at 0x7f&gt;" in response.content.decode()


def test_truncated_argsrepr_gets_a_warning(client_viewer, make_task):
    cut = "(" + repr("x" * 2000)[:1020] + "..."
    task = make_task(task_args=json.dumps(cut))
    response = detail(client_viewer, task)
    assert response.context["args"].truncated
    assert "Looks truncated" in response.content.decode()


def test_traceback_shows_the_exception_first_and_marks_project_frames(client_viewer, make_task):
    result = {"exc_type": "PaymentDeclined", "exc_message": ["card declined for 1234"], "exc_module": "shop.gateway"}
    task = make_task(status="FAILURE", traceback=TRACEBACK, result=json.dumps(result))
    response = detail(client_viewer, task)
    tb = response.context["traceback"]
    assert tb.exception == "shop.gateway.PaymentDeclined: card declined for 1234"
    assert [f.library for f in tb.frames] == [True, False, False]
    assert [f.function for f in tb.project_frames] == ["charge_card", "charge"]
    html = response.content.decode()
    assert html.index("card declined for 1234") < html.index("Full traceback")
    assert 'class="project"' in html and 'class="library"' in html
    assert 'data-copy-from="traceback-text"' in html


def test_chained_tracebacks_show_the_last_exception(client_viewer, make_task):
    task = make_task(status="FAILURE", traceback=CHAINED)
    tb = detail(client_viewer, task).context["traceback"]
    assert tb.exception == "RuntimeError: sync failed" and tb.chained == 1
    assert [f.function for f in tb.frames] == ["sync"]


def test_text_that_is_not_a_traceback_still_shows(client_viewer, make_task):
    task = make_task(status="FAILURE", traceback="worker lost: signal 9")
    assert detail(client_viewer, task).context["traceback"].exception == "worker lost: signal 9"


def test_long_texts_are_cut_with_a_link_to_the_full_text(client_viewer, make_task, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "DETAIL_TEXT_LIMIT": 100}
    long_tb = TRACEBACK + ("x" * 500)
    task = make_task(status="FAILURE", traceback=long_tb, result=json.dumps(list(range(100))))
    response = detail(client_viewer, task)
    html = response.content.decode()
    assert "?full=traceback" in html and "?full=result" in html
    full = client_viewer.get(reverse("dashboard:task", args=[task.task_id]) + "?full=traceback")
    assert full.status_code == 200 and full["Content-Type"].startswith("text/plain")
    assert full.content.decode() == long_tb
    assert client_viewer.get(reverse("dashboard:task", args=[task.task_id]) + "?full=password").status_code == 400


def test_children_link_to_their_pages_with_their_status(client_viewer, make_task):
    child = make_task(status="SUCCESS", task_name="shop.tasks.mail")
    meta = {"children": [[[child.task_id, None], None], [["ghost-id", None], None],
                         [["grp-1", None], [[["member-1", None], None]]]]}
    parent = make_task(meta=json.dumps(meta))
    html = detail(client_viewer, parent).content.decode()
    assert reverse("dashboard:task", args=[child.task_id]) in html and "shop.tasks.mail" in html
    assert reverse("dashboard:task", args=["ghost-id"]) in html and "no result stored yet" in html
    assert reverse("dashboard:group", args=["grp-1"]) in html and reverse("dashboard:task", args=["member-1"]) in html


def test_extra_meta_is_shown(client_viewer, make_task):
    task = make_task(meta=json.dumps({"children": [], "progress": 40}))
    assert "&quot;progress&quot;: 40" in detail(client_viewer, task).content.decode()


def test_the_group_of_the_task_is_linked(client_viewer, make_task, make_group):
    task = make_task()
    group = make_group(result=json.dumps([["g-77", None], [[[task.task_id, None], None], [["other", None], None]]]))
    response = detail(client_viewer, task)
    assert response.context["group"] == group
    assert reverse("dashboard:group", args=[group.group_id]) in response.content.decode()


def test_other_runs_with_the_same_arguments(client_viewer, make_task):
    task = make_task(task_name="shop.sync", task_args='[1]', task_kwargs='{}')
    same = make_task(task_name="shop.sync", task_args='[1]', task_kwargs='{}', status="FAILURE")
    make_task(task_name="shop.sync", task_args='[2]', task_kwargs='{}')
    make_task(task_name="shop.other", task_args='[1]', task_kwargs='{}')
    page = detail(client_viewer, task).content.decode()
    url = reverse("dashboard:task-same-args", args=[task.task_id])
    assert url in page
    response = client_viewer.get(url, headers={"HX-Request": "true", "HX-Target": "same-args"})
    assert [run.task_id for run in response.context["runs"]] == [same.task_id]
    assert b"<html" not in response.content
    assert b"<html" in client_viewer.get(url).content


def test_same_arguments_look_only_through_the_latest_runs(client_viewer, make_task, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "SAME_ARGS_SCAN": 3}
    old_same = make_task(task_name="n", task_args="[1]")
    for _ in range(3):
        make_task(task_name="n", task_args="[9]")
    task = make_task(task_name="n", task_args="[1]")
    response = client_viewer.get(reverse("dashboard:task-same-args", args=[task.task_id]))
    assert response.context["runs"] == [] and not response.context["scanned_all"]
    assert old_same.task_id not in response.content.decode()
    assert "latest 3 runs" in response.content.decode()


def test_unknown_task_is_a_404_page_with_a_search_box(client_viewer, db):
    response = client_viewer.get(reverse("dashboard:task", args=["no-such-id"]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "No such task" in html and 'name="q"' in html and 'value="no-such-id"' in html
    assert client_viewer.get(reverse("dashboard:task-same-args", args=["no-such-id"])).status_code == 404


def test_odd_task_ids_work(client_viewer, make_task):
    for task_id in ("a/b/c", "with space", "dots.and-dashes_1", "ünï"):
        task = make_task(task_id=task_id)
        assert detail(client_viewer, task).status_code == 200


def test_pickled_results_are_never_unpickled(client_viewer, make_task):
    class Boom:
        def __reduce__(self):
            return (print, ("unpickled!",))

    payload = base64.b64encode(pickle.dumps(Boom())).decode()
    task = make_task(result=payload, content_type="application/x-python-serialize", content_encoding="binary")
    response = detail(client_viewer, task)
    assert response.status_code == 200
    assert "not decoded" in response.content.decode()
    assert response.context["result"].text == payload


def test_everything_is_escaped_on_the_detail_page(client_viewer, make_task):
    evil = "<script>alert(1)</script>"
    task = make_task(
        task_id="<img src=x onerror=alert(1)>", task_name=evil, worker=evil, periodic_task_name=evil,
        task_args=json.dumps([evil]), task_kwargs=json.dumps(evil), result=json.dumps(evil),
        traceback=(
            f'Traceback (most recent call last):\n  File "{evil}", line 1, in {evil}\n    {evil}\nValueError: {evil}\n'
        ),
        meta=json.dumps({"children": [[[evil, None], None]], "x": evil}), status="FAILURE",
    )
    html = detail(client_viewer, task).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_detail_query_count(client_viewer, make_task, make_group, django_assert_max_num_queries):
    children = [make_task() for _ in range(5)]
    meta = {"children": [[[c.task_id, None], None] for c in children]}
    task = make_task(meta=json.dumps(meta), status="FAILURE", traceback=TRACEBACK)
    make_group(result=json.dumps([["g", None], [[[task.task_id, None], None]]]))
    # session + user + 2 permission queries, the task, its children's states, its group, its audit history,
    # and (a failure) its failure group
    with django_assert_max_num_queries(9):
        assert detail(client_viewer, task).status_code == 200


def test_nul_character_in_an_id_is_a_404(client_viewer, db):
    for name in ("dashboard:task", "dashboard:group", "dashboard:task-same-args"):
        assert client_viewer.get(reverse(name, args=["a\x00b"])).status_code == 404


@pytest.mark.parametrize("asked", ["ABC", "abc ", "\x08", " "])
def test_an_id_that_only_the_databases_collation_matches_is_a_404(client_viewer, make_task, asked):
    """MariaDB's collation finds ``abc`` for ``ABC`` or ``abc ``, and the empty id for ``\\x08``: not the task asked."""
    make_task(task_id="abc")
    make_task(task_id="")
    for name in ("dashboard:task", "dashboard:task-same-args"):
        assert client_viewer.get(reverse(name, args=[asked])).status_code == 404, name
