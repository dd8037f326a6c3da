"""Settings for the Celery results dashboard.

Everything an operator may want to change comes from the environment,
with embedded defaults that need no server: a SQLite file and Celery's
filesystem broker, both under ``var/``.
"""
import os
import re
import warnings
from pathlib import Path

from .env import database_config, env_bool, env_int, env_list, env_proxy_ssl_header, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = secret_key(VAR_DIR)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS: all off for a local run over plain HTTP; turn them on where the
# site is served over TLS. Behind a proxy that ends TLS, name the header it
# sets (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto,https), or the redirect
# would loop and Django would think every request insecure.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# A load balancer probes its backends over plain HTTP: /healthz answers it, never a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "results",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashboard_project.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.timezones.TimeZoneMiddleware",
]

ROOT_URLCONF = "dashboard_project.urls"
WSGI_APPLICATION = "dashboard_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        test_sqlite_path=VAR_DIR / "test-db.sqlite3",
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL", "").startswith(("redis://", "rediss://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names once ``collectstatic`` has run; plain names before.
    "staticfiles": {"BACKEND": "dashboard_project.storage.ManifestOrPlainStaticFilesStorage"},
}
# Until ``collectstatic`` has left its manifest (``staticfiles.json``) in
# STATIC_ROOT, as on a fresh clone's ``manage.py runserver``, WhiteNoise
# serves the plain names from the finders with DEBUG off too (under DEBUG it
# always does), and the missing STATIC_ROOT is expected, not worth a warning.
static_collected = (STATIC_ROOT / "staticfiles.json").is_file()
WHITENOISE_USE_FINDERS = DEBUG or not static_collected
if not static_collected:
    warnings.filterwarnings(
        "ignore", message=re.escape(f"No directory at: {os.path.abspath(STATIC_ROOT)}"), category=UserWarning
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- results app -----------------------------------------------------------
DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH = int(
    os.environ.get("DJANGO_CELERY_RESULTS_TASK_ID_MAX_LENGTH", 255)
)
DJANGO_CELERY_RESULTS = {
    "ALLOW_EDITS": env_bool("ALLOW_EDITS", False),
    "OUTAGE_TIMEOUT": float(os.environ.get("RESULTS_OUTAGE_TIMEOUT", 60)),
    "SLOW_WRITE_SECONDS": float(os.environ.get("RESULTS_SLOW_WRITE_SECONDS", 1)),
    "CHORD_FIRING_TIMEOUT": float(os.environ.get("RESULTS_CHORD_FIRING_TIMEOUT", 300)),
}

# --- Celery ----------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("out", "processed"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "results.backends:DatabaseBackend")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXPIRES = int(os.environ.get("CELERY_RESULT_EXPIRES", 7 * 24 * 3600))
CELERY_TIMEZONE = TIME_ZONE
# Celery beat's schedule file (``celery -A dashboard_project beat``). The live
# demo's schedule is in its own settings (``dashboard_project.settings_demo``).
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
