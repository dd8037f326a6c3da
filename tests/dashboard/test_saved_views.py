"""Saved views: what a view keeps of a list's query string, who sees, shares and deletes it, and the pages doing it."""
import re
from urllib.parse import parse_qs

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from dashboard import saved_views
from dashboard.models import SavedView
from tests import factories

SAVE = reverse("dashboard:saved-view-save")
TASKS = reverse("dashboard:tasks")
OVERVIEW = reverse("dashboard:overview")
HTMX_RESULTS = {"HX-Request": "true", "HX-Target": "task-results"}
HTMX_FORM = {"HX-Request": "true", "HX-Target": "saved-view-form"}


def grant(user, *codenames):
    """``user`` with the ``dashboard`` permissions named (a fresh instance: permissions are cached per instance)."""
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="dashboard"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def alice(db):
    return factories.user_with()


@pytest.fixture
def sharer(db):
    """A viewer allowed to share views with the team."""
    return grant(factories.user_with(), "share_savedview")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def save(client, name, query="", list_name="tasks", headers=None, **extra):
    return client.post(SAVE, {"name": name, "query": query, "list_name": list_name, **extra}, headers=headers or {})


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- what a view keeps ---------------------------------------------------------------


def test_a_view_keeps_every_filter_and_the_sort_and_drops_paging_refresh_blanks_and_unknown_parameters(db):
    query = ("q=charge&status=FAILURE&status=RETRY&worker=celery%40web-3&task_name=&periodic_task_name=nightly"
             "&fingerprint=&date_done_after=2026-11-01T10%3A00%3A00&date_done_before=&sort=-worker"
             "&cursor=abc&page=3&refresh=5&utm_source=chat")
    kept = parse_qs(saved_views.normalised_query("tasks", query))
    assert kept == {
        "q": ["charge"], "status": ["FAILURE", "RETRY"], "worker": ["celery@web-3"], "periodic_task_name": ["nightly"],
        "date_done_after": ["2026-11-01T10:00:00"], "sort": ["-worker"],
    }


def test_the_groups_and_failures_lists_keep_their_own_filters(db):
    assert saved_views.normalised_query("groups", "q=abc&page=2&sort=date_created") == "q=abc&sort=date_created"
    kept = parse_qs(saved_views.normalised_query(
        "failures", "window=7d&task_name=shop.charge&state=new&refresh=0&page=2&sort=-failures"))
    assert kept == {"window": ["7d"], "task_name": ["shop.charge"], "state": ["new"], "sort": ["-failures"]}


@pytest.mark.parametrize(("list_name", "query", "message"), [
    ("tasks", "status=NOT-A-STATE", "Status"),
    ("tasks", "date_done_after=yesterday-ish", "Done"),
    ("tasks", "date_done_after=2026-11-02T00:00:00&date_done_before=2026-11-01T00:00:00", "must not be earlier"),
    ("tasks", "q=" + "x" * 300, "Search"),
    ("tasks", "worker=a%00b", "Null characters"),
    ("tasks", "sort=no_such_column", "cannot be sorted by “no_such_column”"),
    ("tasks", "sort=runtime", "cannot be sorted by “runtime”"),
    ("tasks", "sort=worker&sort=status", "one sort"),
    ("groups", "date_done_before=31-31-2026", "Done"),
    ("failures", "window=9y", "There is no window 9y"),
    ("failures", "state=sideways", "There is no state sideways"),
    ("nowhere", "", "There is no list"),
    ("tasks", "q=" + "x" * 2100, "too long to save"),
])
def test_a_malformed_filter_is_refused_with_the_reason(db, list_name, query, message):
    with pytest.raises(saved_views.ValidationError) as refused:
        saved_views.normalised_query(list_name, query)
    assert any(message in text for text in refused.value.messages), refused.value.messages


# --- who sees what -------------------------------------------------------------------


def test_a_user_sees_their_own_views_and_the_shared_ones_only(alice, sharer):
    mine = SavedView.objects.create(owner=alice, list_name="tasks", name="mine", query="status=FAILURE")
    team = SavedView.objects.create(owner=sharer, list_name="tasks", name="team", query="worker=w1", shared=True)
    SavedView.objects.create(owner=sharer, list_name="tasks", name="sharer's own", query="worker=w2")
    groups = SavedView.objects.create(owner=alice, list_name="groups", name="g", query="q=abc")
    assert list(saved_views.visible_to(alice, "tasks")) == [mine, team]
    assert list(saved_views.visible_to(alice)) == [groups, mine, team]
    assert {view.name for view in saved_views.visible_to(sharer, "tasks")} == {"team", "sharer's own"}


def test_the_menu_lists_own_and_shared_views_as_links_to_the_list(alice, sharer):
    SavedView.objects.create(owner=alice, list_name="tasks", name="payments failing on web-3",
                             query="status=FAILURE&worker=web-3")
    SavedView.objects.create(owner=sharer, list_name="tasks", name="team <b>view</b>", query="q=x", shared=True)
    SavedView.objects.create(owner=sharer, list_name="tasks", name="hidden one", query="q=y")
    html = logged_in(alice).get(TASKS).content.decode()
    menu = html[html.index('id="saved-views"'):html.index("</details>")]
    assert f'href="{TASKS}?status=FAILURE&amp;worker=web-3"' in menu
    assert "team &lt;b&gt;view&lt;/b&gt;" in menu and f"by {sharer.username}" in menu
    assert "hidden one" not in menu
    # alice may delete hers, not the team's; without the permission she shares nothing.
    assert menu.count("Delete</button>") == 1
    assert "Share" not in re.sub(r"Share with the team|shared", "", menu)


# --- saving --------------------------------------------------------------------------


def test_saving_stores_the_filters_and_sort_and_goes_back_to_the_list(alice):
    client = logged_in(alice)
    response = save(client, "  payments failing on web-3 ", "status=FAILURE&worker=web-3&sort=-worker&cursor=x&page=2")
    view = SavedView.objects.get()
    assert (view.owner, view.name, view.list_name, view.shared) == (alice, "payments failing on web-3", "tasks", False)
    assert parse_qs(view.query) == {"status": ["FAILURE"], "worker": ["web-3"], "sort": ["-worker"]}
    assert response.status_code == 302 and response["Location"] == f"{TASKS}?{view.query}"
    page = client.get(response["Location"])
    assert "Saved the view “payments failing on web-3” (only you see it)." in page.content.decode()


def test_an_empty_query_is_a_view_of_the_whole_list(alice):
    assert save(logged_in(alice), "everything").status_code == 302
    assert SavedView.objects.get().query == ""


def test_the_task_list_gives_the_save_form_the_filters_shown_and_htmx_swaps_keep_it_current(alice):
    client = logged_in(alice)
    page = client.get(TASKS + "?status=FAILURE&page=2&refresh=5&q=")
    assert page.context["save_view_form"]["query"].value() == "status=FAILURE"
    assert 'id="saved-view-query" value="status=FAILURE"' in page.content.decode()
    swap = client.get(TASKS + "?status=SUCCESS&worker=w1&cursor=abc&sort=worker", headers=HTMX_RESULTS)
    oob = re.search(r'<input type="hidden" name="query" id="saved-view-query" value="([^"]*)" hx-swap-oob="true">',
                    swap.content.decode())
    assert oob and oob.group(1) == "status=SUCCESS&amp;worker=w1&amp;sort=worker"


def test_sharing_needs_the_permission(alice, sharer):
    assert "Share with the team" not in logged_in(alice).get(TASKS).content.decode()
    response = save(logged_in(alice), "not shared", "status=FAILURE", shared="on")
    assert response.status_code == 302
    assert SavedView.objects.get(name="not shared").shared is False

    assert "Share with the team" in logged_in(sharer).get(TASKS).content.decode()
    response = save(logged_in(sharer), "for the team", "status=FAILURE", shared="on")
    assert "shared with the team" in messages_of(response)[0]
    assert SavedView.objects.get(name="for the team").shared is True
    assert [view.name for view in saved_views.visible_to(alice)] == ["for the team", "not shared"]


@pytest.mark.parametrize(("name", "error"), [
    ("", "Give the view a name."),
    ("   ", "Give the view a name."),
    ("x" * 101, "at most 100 characters (this one has 101)"),
    ("nul\x00name", "Null characters are not allowed."),
])
def test_a_bad_name_is_refused_with_the_form_shown_again(alice, name, error):
    response = save(logged_in(alice), name, "status=FAILURE")
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html and 'id="saved-view-form"' in html and 'value="status=FAILURE"' in html
    assert not SavedView.objects.exists()


def test_a_malformed_filter_is_not_saved(alice):
    response = save(logged_in(alice), "broken", "status=NOT-A-STATE&date_done_after=soon")
    assert response.status_code == 400
    html = response.content.decode()
    assert "These filters cannot be saved." in html and "Status:" in html and "Done:" in html
    assert not SavedView.objects.exists()


def test_an_unknown_list_is_refused(alice):
    response = save(logged_in(alice), "nowhere", "", list_name="nowhere")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not SavedView.objects.exists()


def test_a_name_taken_on_the_same_list_is_refused_until_replace_is_ticked(alice, sharer):
    client = logged_in(alice)
    save(client, "Failing", "status=FAILURE")
    response = save(client, "failing", "status=RETRY")
    assert response.status_code == 400
    html = response.content.decode()
    assert "You already have a view named “Failing” on this list" in html
    assert "Replace my view of this name" in html
    assert SavedView.objects.get().query == "status=FAILURE"

    response = save(client, "failing", "status=RETRY", replace="on")
    assert response.status_code == 302
    view = SavedView.objects.get()
    assert (view.name, view.query) == ("failing", "status=RETRY")
    # The same name on another list, or another user's, is another view.
    assert save(client, "failing", "q=g", list_name="groups").status_code == 302
    assert save(logged_in(sharer), "failing", "status=FAILURE").status_code == 302
    assert SavedView.objects.count() == 3


def test_replacing_a_shared_view_without_the_permission_makes_it_private(alice):
    view = SavedView.objects.create(owner=alice, list_name="tasks", name="old", query="q=a", shared=True)
    save(logged_in(alice), "old", "q=b", replace="on", shared="on")
    view.refresh_from_db()
    assert (view.query, view.shared) == ("q=b", False)


def test_with_htmx_errors_swap_the_form_and_a_save_reloads_the_list(alice):
    client = logged_in(alice)
    refused = save(client, "", "status=FAILURE", headers=HTMX_FORM)
    assert refused.status_code == 400
    assert b"<html" not in refused.content and b'id="saved-view-form"' in refused.content
    saved = save(client, "failures", "status=FAILURE", headers=HTMX_FORM)
    assert saved.status_code == 200 and saved["HX-Redirect"] == f"{TASKS}?status=FAILURE"


def test_saving_needs_the_csrf_token_and_the_right_to_view_results(alice, stranger):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    data = {"name": "v", "query": "", "list_name": "tasks"}
    assert client.post(SAVE, data).status_code == 403
    page = client.get(TASKS)
    token = re.search(r'<form id="saved-view-form".*?name="csrfmiddlewaretoken" value="([^"]+)"',
                      page.content.decode(), re.S).group(1)
    assert client.post(SAVE, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert SavedView.objects.filter(owner=alice).count() == 1

    assert Client().post(SAVE, data).status_code == 302  # to the log-in page
    assert logged_in(stranger).post(SAVE, data).status_code == 403
    assert logged_in(alice).get(SAVE).status_code == 405
    assert SavedView.objects.count() == 1


# --- opening, sharing, deleting -------------------------------------------------------------


def test_only_the_owner_with_the_permission_shares_or_unshares(alice, sharer):
    mine = SavedView.objects.create(owner=sharer, list_name="tasks", name="m", query="q=x")
    url = reverse("dashboard:saved-view-share", args=[mine.pk])
    response = logged_in(sharer).post(url, {"shared": "1", "next": TASKS + "?q=x"})
    assert response.status_code == 302 and response["Location"] == TASKS + "?q=x"
    mine.refresh_from_db()
    assert mine.shared is True
    assert logged_in(alice).post(url, {"shared": "0"}).status_code == 403  # not hers
    alices = SavedView.objects.create(owner=alice, list_name="tasks", name="a", query="")
    assert logged_in(alice).post(reverse("dashboard:saved-view-share", args=[alices.pk]),
                                 {"shared": "1"}).status_code == 403  # no permission
    elsewhere = {"shared": "0", "next": "https://elsewhere.example/"}
    assert logged_in(sharer).post(url, elsewhere)["Location"] == TASKS + "?q=x"  # not followed off the site
    mine.refresh_from_db()
    alices.refresh_from_db()
    assert (mine.shared, alices.shared) == (False, False)


def test_deletion_rights(alice, sharer):
    shared = SavedView.objects.create(owner=sharer, list_name="tasks", name="team", query="q=x", shared=True)
    private = SavedView.objects.create(owner=sharer, list_name="tasks", name="own", query="q=y")
    delete = lambda view: reverse("dashboard:saved-view-delete", args=[view.pk])  # noqa: E731

    assert logged_in(alice).post(delete(shared)).status_code == 403
    assert logged_in(alice).post(delete(private)).status_code == 404  # she does not even see it
    staff = factories.user_with()
    staff.is_staff = True
    staff.save()
    assert logged_in(staff).post(delete(shared)).status_code == 403  # staff, but not the permission
    cleaner = grant(staff, "delete_savedview")
    assert logged_in(cleaner).post(delete(private)).status_code == 404  # not shared: its owner's only
    response = logged_in(cleaner).post(delete(shared), {"next": TASKS + "?status=FAILURE"})
    assert response.status_code == 302 and response["Location"] == TASKS + "?status=FAILURE"
    assert messages_of(response) == ["Deleted the view “team”."]

    response = logged_in(sharer).post(delete(private))
    assert response.status_code == 302 and response["Location"] == TASKS
    assert not SavedView.objects.exists()
    assert logged_in(sharer).get(delete(private)).status_code == 405


def test_the_failures_and_groups_lists_have_the_menu_too(alice, sharer):
    client = logged_in(alice)
    for url, list_name, query in ((reverse("dashboard:failures"), "failures", "window=7d&state=new&sort=-failures"),
                                  (reverse("dashboard:groups"), "groups", "q=abc&sort=group_id")):
        page = client.get(f"{url}?{query}&page=1")
        html = page.content.decode()
        assert 'id="saved-views"' in html and f'name="list_name" value="{list_name}"' in html
        assert page.context["save_view_form"]["query"].value() == query
        response = save(client, f"{list_name} view", query, list_name=list_name)
        assert response["Location"] == f"{url}?{SavedView.objects.get(list_name=list_name).query}"
        assert f"{list_name} view" in client.get(url).content.decode()


# --- the overview ------------------------------------------------------------------------


def test_the_overview_lists_the_views_a_user_sees_and_its_etag_follows_them(alice, sharer):
    SavedView.objects.create(owner=sharer, list_name="tasks", name="team failures", query="status=FAILURE",
                             shared=True)
    SavedView.objects.create(owner=sharer, list_name="groups", name="private groups", query="q=a")
    client = logged_in(alice)
    first = client.get(OVERVIEW)
    html = first.content.decode()
    card = html[html.index('id="saved-views-card-title"'):]
    assert f'href="{TASKS}?status=FAILURE"' in card and "team failures" in card and sharer.username in card
    assert "private groups" not in card
    assert client.get(OVERVIEW, headers={"If-None-Match": first["ETag"]}).status_code == 304
    save(client, "mine", "status=RETRY")
    again = client.get(OVERVIEW, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200 and "mine" in again.content.decode()


def test_the_overview_without_views_points_to_the_task_list(alice):
    assert "No saved views yet" in logged_in(alice).get(OVERVIEW).content.decode()


# --- queries ----------------------------------------------------------------------------


def queries_of(client, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(1000) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [TASKS, reverse("dashboard:groups"), reverse("dashboard:failures"), OVERVIEW])
def test_the_pages_read_the_views_in_one_query_however_many(alice, sharer, url, django_assert_max_num_queries):
    client = logged_in(alice)
    client.get(url)  # the figures caught up, facets read
    SavedView.objects.create(owner=alice, list_name="tasks", name="one", query="")
    with_one = queries_of(client, url, django_assert_max_num_queries)
    owners = [sharer, factories.user_with(), factories.user_with()]
    for list_name in ("tasks", "groups", "failures"):
        for n, owner in enumerate(owners):
            SavedView.objects.create(owner=owner, list_name=list_name, name=f"{list_name} {n}", query="", shared=True)
            SavedView.objects.create(owner=alice, list_name=list_name, name=f"{list_name} mine {n}", query="")
    with django_assert_max_num_queries(with_one):
        response = client.get(url)
    assert len(response.context["saved_views"]) >= 6
