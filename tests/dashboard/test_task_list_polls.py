"""The task list's live polls: ``304 Not Modified`` while the page's rows are the ones the browser holds.

A poll (htmx, targeting the rows' part) carries an ETag made of the rows
it shows; asked again with ``If-None-Match``, an unchanged page is not
rendered. Any change to a row shown (a state, a new row at the top, a row
gone), another page or sort, another user or what they may do, answers the
rows again. Whole pages never answer 304.
"""
from celery import states
from django.urls import reverse

from results.models import TaskResult

URL = reverse("dashboard:tasks")
POLL = {"HX-Request": "true", "HX-Target": "task-results", "HX-Trigger": "task-results"}


def poll(client, query="?refresh=5", etag=None, **headers):
    extra = {"If-None-Match": etag} if etag else {}
    return client.get(URL + query, headers={**POLL, **extra, **headers})


def test_an_unchanged_page_answers_304_without_rendering(client_viewer, make_tasks, django_assert_max_num_queries):
    make_tasks(30)
    first = poll(client_viewer)
    assert first.status_code == 200 and first["ETag"]
    assert "no-cache" in first["Cache-Control"] and "private" in first["Cache-Control"]
    # The session, the user and their permissions (4), the statuses the filter accepts (cached for a minute
    # but for the tests), the page's rows; nothing rendered, so no other facet list.
    with django_assert_max_num_queries(6):
        again = poll(client_viewer, etag=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_changed_row_answers_the_rows_again(client_viewer, make_tasks):
    tasks = make_tasks(5, status=states.STARTED)
    etag = poll(client_viewer)["ETag"]
    TaskResult.objects.filter(task_id=tasks[-1].task_id).update(status=states.SUCCESS)
    changed = poll(client_viewer, etag=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert poll(client_viewer, etag=changed["ETag"]).status_code == 304


def test_a_new_row_or_one_gone_answers_again(client_viewer, make_tasks, make_task):
    tasks = make_tasks(3)
    etag = poll(client_viewer)["ETag"]
    make_task()
    after_new = poll(client_viewer, etag=etag)
    assert after_new.status_code == 200
    TaskResult.objects.filter(task_id=tasks[0].task_id).delete()
    assert poll(client_viewer, etag=after_new["ETag"]).status_code == 200


def test_other_pages_sorts_and_filters_have_their_own_etags(client_viewer, make_tasks):
    make_tasks(30, worker="w1")
    etag = poll(client_viewer)["ETag"]
    for query in ("?refresh=5&sort=task_name", "?refresh=5&worker=w1", "?refresh=5&sort=task_name&page=2"):
        other = poll(client_viewer, query, etag=etag)
        assert other.status_code == 200, query
        assert other["ETag"] != etag
        assert poll(client_viewer, query, etag=other["ETag"]).status_code == 304, query


def test_a_numbered_page_reads_its_rows_once(client_viewer, make_tasks, django_assert_max_num_queries):
    make_tasks(30)
    query = "?refresh=5&sort=task_name&page=2"
    etag = poll(client_viewer, query)["ETag"]
    with django_assert_max_num_queries(6):
        assert poll(client_viewer, query, etag=etag).status_code == 304


def test_another_user_or_other_rights_get_their_own_answer(client, viewer, operator, edits, make_tasks):
    make_tasks(3)
    client.force_login(viewer)
    etag = poll(client)["ETag"]
    client.force_login(operator)
    assert poll(client, etag=etag).status_code == 200


def test_whole_pages_and_bad_requests_are_always_answered(client_viewer, make_tasks):
    make_tasks(3)
    etag = poll(client_viewer)["ETag"]
    whole = client_viewer.get(URL + "?refresh=5", headers={"If-None-Match": etag})
    assert whole.status_code == 200 and "ETag" not in whole
    bad = poll(client_viewer, "?refresh=5&cursor=nonsense", etag=etag)
    assert bad.status_code == 400 and "ETag" not in bad
