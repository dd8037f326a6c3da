"""The demo login: created once with a random password, then left alone."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from dashboard.access import can_view_results
from demo.login import DEMO_USERNAME, ensure_demo_login

pytestmark = pytest.mark.django_db


def test_created_with_a_random_password_that_is_shown_once():
    user, password = ensure_demo_login()
    assert user.get_username() == DEMO_USERNAME
    assert password and len(password) >= 16
    validate_password(password, user)  # not common, not numeric, long enough
    assert user.check_password(password)
    assert password not in user.password  # only the hash is stored


def test_can_view_results():
    user, _ = ensure_demo_login()
    assert user.has_perm("results.view_taskresult")
    assert can_view_results(user)


def test_reused_as_it_is():
    user, password = ensure_demo_login()
    again, no_password = ensure_demo_login()
    assert again.pk == user.pk and no_password is None
    again.refresh_from_db()
    assert again.check_password(password)
    assert get_user_model().objects.count() == 1


def test_every_new_login_gets_a_new_password():
    passwords = set()
    for _ in range(3):
        user, password = ensure_demo_login()
        passwords.add(password)
        user.delete()
    assert len(passwords) == 3
