"""Read settings from the environment, with the embedded defaults.

Kept apart from ``settings.py`` so that the rules for turning a
``DATABASE_URL`` into a Django ``DATABASES`` entry live in one place and
can be read (and tested) on their own.
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_bool(name, default):
    """A yes/no variable; unset or empty is ``default``.

    Anything but the usual words stops the start with the variable's name:
    ``SESSION_COOKIE_SECURE=ture`` must not quietly leave the cookie insecure.
    """
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use one of {', '.join(sorted(TRUE_WORDS))} or {', '.join(sorted(FALSE_WORDS))}."
        )
    return word in TRUE_WORDS


def env_int(name, default, minimum=0):
    """A whole number of at least ``minimum``; unset or empty is ``default``."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: a whole number of at least {minimum} is needed.")
    return number


def env_proxy_ssl_header(name):
    """Django's ``SECURE_PROXY_SSL_HEADER`` from ``HEADER,value``; unset or empty is None.

    The header may be named as the proxy sends it (``X-Forwarded-Proto``) or
    as Django's ``request.META`` key (``HTTP_X_FORWARDED_PROTO``).
    """
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ImproperlyConfigured(
            f"{name}={value!r}: give the header and its HTTPS value, e.g. X-Forwarded-Proto,https."
        )
    header, secure_value = parts
    if not header.startswith("HTTP_"):
        header = "HTTP_" + header.upper().replace("-", "_")
    return (header, secure_value)


def env_list(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_key(var_dir: Path):
    """Return ``SECRET_KEY`` from the environment, else a per-checkout key.

    A generated key is stored under ``var/`` so that sessions survive a
    restart of ``make run``; no well-known key is ever shipped.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = var_dir / "secret_key"
    key = _read_key(key_file)
    if key:
        return key
    # Several processes may start at once (a test matrix, a worker and the web server): the key file appears
    # whole or not at all, written aside and linked into place; the first link wins and everyone reads it.
    var_dir.mkdir(parents=True, exist_ok=True)
    aside = var_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    aside.write_text(secrets.token_urlsafe(50))
    aside.chmod(0o600)
    try:
        os.link(aside, key_file)
    except FileExistsError:
        if not _read_key(key_file):  # an empty file left by an interrupted older write
            os.replace(aside, key_file)
    finally:
        aside.unlink(missing_ok=True)
    return _read_key(key_file)


def _read_key(key_file: Path) -> str:
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        return ""


def database_config(url, test_sqlite_path):
    """Turn a database URL into a ``DATABASES`` entry tuned per vendor.

    SQLite gets the write-ahead log, a busy timeout and immediate
    transactions so that several worker processes can write results (and
    chord counters) at once without "database is locked"; its test
    database is a file, so that real worker processes can share it.
    MySQL/MariaDB use utf8mb4 and, when mysqlclient is not installed,
    the pure-Python PyMySQL driver. PostgreSQL plans no parallel workers
    (``max_parallel_workers_per_gather=0``) unless the URL's ``options``
    says otherwise: every query a page or a worker runs reads a few index
    ranges, and starting workers costs more than they save (the failures
    page's totals at 10M rows: 17 ms with two workers, 6 ms without). The
    statistics rebuild, the one big scan, asks for them itself.
    """
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        config["TEST"] = {"NAME": str(test_sqlite_path)}
    elif engine == "django.db.backends.postgresql":
        config.setdefault("OPTIONS", {}).setdefault("options", "-c max_parallel_workers_per_gather=0")
    elif engine == "django.db.backends.mysql":
        _use_pymysql_unless_mysqlclient()
        config.setdefault("OPTIONS", {})["charset"] = "utf8mb4"
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    return config


def _use_pymysql_unless_mysqlclient():
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        import pymysql

        pymysql.install_as_MySQLdb()
