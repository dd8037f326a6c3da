"""The demo's login: created once, with a random password shown once."""
import secrets

from django.contrib.auth import get_user_model

DEMO_USERNAME = "demo"


def ensure_demo_login(username=DEMO_USERNAME):
    """Return ``(user, password)``, creating the user if it does not exist.

    A new user is a superuser (so it may view results, use the admin and,
    with ``ALLOW_EDITS``, change them) with a fresh random password, which
    is returned so it can be shown once; only its hash is stored. An
    existing user is left as it is and ``password`` is None.
    """
    users = get_user_model()._default_manager
    try:
        return users.get_by_natural_key(username), None
    except users.model.DoesNotExist:
        password = secrets.token_urlsafe(12)
        return users.create_superuser(username=username, email="", password=password), password
