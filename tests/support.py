"""Names and helpers the suite's set-up and some tests share (importable; a conftest is not a module to import)."""
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

#: A second alias on the same server, for tests of ``db_manager(...)`` and
#: ``using=``. pytest-django creates its test database only for the tests
#: that ask for it (``django_db(databases=[..., OTHER_DB])``).
OTHER_DB = "other"


def clear_local_cache():
    """Empty the default cache when it is this process's own (local memory).

    A test may point it at Redis, which holds the broker queues of every
    run on this machine: ``clear()`` there is ``FLUSHDB``, and would drop
    their messages, so it is never called on a shared cache.
    """
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
