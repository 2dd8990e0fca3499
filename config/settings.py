"""The one settings file. Every deployment knob is an environment variable with a safe default.

Embedded default (nothing running): SQLite and Celery's filesystem broker under var/.
Production and CI: DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.proxies import axes_ip_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (demo, tests)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    from config.secretkey import load_or_create_secret_key

    return load_or_create_secret_key(VAR_DIR / "secret_key")


DEBUG = env_bool("DEBUG", False)
# `make demo` sets DEMO=1: demo accounts with the README's published passwords are allowed (never set it in
# production). The demo itself runs with DEBUG off, so visitors see the site's own 404/500 pages.
DEMO = env_bool("DEMO", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Behind TLS in production: HTTPS=1 turns on redirects, secure cookies and HSTS.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, not a CDN
    "axes",
    "jobs",
    "pruning",
    "analysis",
    "readerstudy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the URL: NUL, non-UTF-8 and overlong values are a 400, ids past any column a 404.
    "config.middleware.CleanInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "config.middleware.ReaderIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into its 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.roles.roles_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
_SQLITE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
try:
    _db = dj_database_url.parse(os.environ.get("DATABASE_URL") or _SQLITE_URL, conn_max_age=60)
except Exception as exc:  # dj_database_url raises several types; the user needs the variable name.
    raise ImproperlyConfigured(
        f"DATABASE_URL={os.environ.get('DATABASE_URL')!r} is not a valid database URL ({exc}). "
        "Use e.g. postgres://postgres@127.0.0.1:5432/test, or unset it for the embedded SQLite database."
    ) from None
_test_run = os.environ.get("TEST_RUN_ID", "")  # set by tests/isolation.py: one test database per pytest run
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real worker process sees the test database too.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{_test_run}.sqlite3")}
    _db["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    _db["CONN_MAX_AGE"] = 0
elif _test_run:
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{_test_run}"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses logins while a username + address pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with a cheaper per-request user look-up (issue 22).
    "config.auth.ModelBackend",
]
# Login throttling: after AXES_FAILURE_LIMIT failed logins for one username from one address, further
# attempts are refused (429) for AXES_COOLOFF_MINUTES. Keyed by the pair, so one reader's typos do not lock
# out a whole reading room behind one address, and nobody can lock out a user from elsewhere.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no log line per login; lockouts are still logged
# Reverse proxies in front of gunicorn: the client address is then read from X-Forwarded-For (config.proxies).
globals().update(axes_ip_settings(env_int("AXES_PROXY_COUNT", 0)))

# Sessions: shared reading-room workstations. The login cookie dies with the browser, and a reader idle for
# READER_IDLE_MINUTES is signed out (0 turns it off); the absolute limit is SESSION_COOKIE_AGE.
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
READER_IDLE_MINUTES = env_int("READER_IDLE_MINUTES", 30)
# Case images behind their permission check: empty, Django streams the file (FileResponse: gunicorn sends it
# with sendfile through wsgi.file_wrapper); a path prefix such as /_images/, the response carries only an
# X-Accel-Redirect to that prefix + the file's path under ARTIFACT_ROOT, for nginx to send (an `internal`
# location aliased to ARTIFACT_ROOT; README, Deploying).
READER_IMAGES_X_ACCEL = os.environ.get("READER_IMAGES_X_ACCEL", "")
if READER_IMAGES_X_ACCEL and not (READER_IMAGES_X_ACCEL.startswith("/") and READER_IMAGES_X_ACCEL.endswith("/")):
    raise ImproperlyConfigured(f"READER_IMAGES_X_ACCEL={READER_IMAGES_X_ACCEL!r}: a path like /_images/, or empty.")
SESSION_COOKIE_HTTPONLY = True
# Cache: Redis when CACHE_URL (or a redis:// CELERY_BROKER_URL) names one. Sessions are then read from it
# (cached_db: written through to the database, so a Redis restart logs nobody out), which takes one query off
# every request. Without Redis, sessions stay in the database alone: a per-process cache would keep a
# logged-out session alive in the other gunicorn workers.
CACHE_URL = os.environ.get("CACHE_URL") or ""
if not CACHE_URL and os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://")):
    CACHE_URL = os.environ["CELERY_BROKER_URL"]
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ReusedClientRedisCache",  # Django's, one client per pool
            "LOCATION": CACHE_URL,
            # One prefix per test run (tests/isolation.py), as for the broker's keys.
            "KEY_PREFIX": os.environ.get("CELERY_BROKER_KEY_PREFIX", ""),
            "TIMEOUT": SESSION_COOKIE_AGE,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis://host:6379/1, or unset it.")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and artifacts -------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Serve straight from static/ too, so tests and the demo need no collectstatic step.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
ARTIFACT_ROOT = Path(os.environ.get("ARTIFACT_ROOT", VAR_DIR / "artifacts")).resolve()
ARTIFACT_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
# Folders (besides ARTIFACT_ROOT) from which the web form may import the paper's released predictions.
# Those are pickles, which can run code when loaded, so only trusted folders are allowed (":"-separated).
ANALYSIS_IMPORT_ROOTS = [Path(p).resolve() for p in os.environ.get("ANALYSIS_IMPORT_ROOTS", "").split(":") if p]
# init="imagenet" needs torchvision's ImageNet weights in the torch hub cache ($TORCH_HOME). Off: a
# training job without them fails at once with a clear message (these machines have no internet);
# on: the worker downloads them once. `manage.py fetch_weights` fills the cache ahead of time.
ALLOW_WEIGHTS_DOWNLOAD = env_bool("ALLOW_WEIGHTS_DOWNLOAD", False)
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
# How big `make demo` builds its dataset, experiment and study (analysis/demo_scales.py): tiny (tests,
# seconds), default (2 CPU cores, under 10 minutes), large (a GPU box).
DEMO_SCALE = os.environ.get("DEMO_SCALE", "default").strip().lower() or "default"
if DEMO_SCALE not in ("tiny", "default", "large"):
    raise ImproperlyConfigured(f"DEMO_SCALE={DEMO_SCALE!r} is not one of tiny, default, large.")

# --- Celery ---------------------------------------------------------------------------------------
# Job state lives in our Job rows; Celery only delivers "run job N" messages, so no result backend.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 12 * 3600)
_broker_dir = Path(os.environ.get("CELERY_BROKER_DIR", VAR_DIR / "broker")).resolve()
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables; kombu's default is control/ in the current folder (the repository root).
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,  # a queued job starts within ~0.1 s
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A message is redelivered only after the visibility timeout, so it must outlast the longest task
    # (the reaper brings back a job lost with its worker long before that).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 3600}
    # Every Redis key this deployment uses starts with this (tests/isolation.py: one prefix per test run,
    # so concurrent runs on one Redis never take each other's messages).
    if _key_prefix := os.environ.get("CELERY_BROKER_KEY_PREFIX", ""):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = _key_prefix
else:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://host:6379/0, or unset it for the "
        "embedded filesystem broker."
    )
CELERY_TASK_IGNORE_RESULT = True
# Queue names start with JOBS_QUEUE_PREFIX (empty in production): the fault tests give their own workers
# their own queues, so a worker another test started never takes their jobs.
JOBS_QUEUE_PREFIX = os.environ.get("JOBS_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = JOBS_QUEUE_PREFIX + "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Jobs: heartbeats and the reaper ----------------------------------------------------------------
# A running attempt's heartbeat thread writes every JOBS_HEARTBEAT_SECONDS; a RUNNING job silent for
# JOBS_STALE_AFTER_SECONDS lost its worker, and the reaper (Celery beat, every JOBS_REAP_SECONDS) sends
# it again. A QUEUED job whose message is in no queue for JOBS_LOST_AFTER_SECONDS is sent again too.
JOBS_HEARTBEAT_SECONDS = env_float("JOBS_HEARTBEAT_SECONDS", 20)
JOBS_STALE_AFTER_SECONDS = env_float("JOBS_STALE_AFTER_SECONDS", 120)
JOBS_LOST_AFTER_SECONDS = env_float("JOBS_LOST_AFTER_SECONDS", 120)
JOBS_REAP_SECONDS = env_float("JOBS_REAP_SECONDS", 30)
CELERY_BEAT_SCHEDULE = {"jobs-reap": {"task": "jobs.reap", "schedule": JOBS_REAP_SECONDS}}
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILENAME") or str(VAR_DIR / "celerybeat-schedule")

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # AppError -> 403/404/409/400 in one place; services never name a status.
    "EXCEPTION_HANDLER": "config.api.app_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PruneCXR platform API",
    # Only what the API serves (tests/platform_tests/test_api_docs_link.py checks it against the paths).
    "DESCRIPTION": "Reader studies under /study/api/ (reading, answers, flags, cases, exports of answers) and their "
    "perception statistics under /reports/api/perception/. Read-only results of an experiment, for its owner, "
    "those granted a study built from it, and admins: its cross-method comparison "
    "(/reports/api/experiments/{id}/methods/) and a forgettability report's subgroup, calibration and "
    "uncertainty sections (/reports/api/reports/{id}/who/). Creating experiments, running jobs and building "
    "reports happen on the site's pages; they have no API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
