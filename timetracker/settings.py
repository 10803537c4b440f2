"""TimeTracker settings, read from the environment.

Embedded default (nothing set): SQLite under DATA_DIR and Celery tasks run in-process.
Production and CI: DATABASE_URL selects PostgreSQL, REDIS_URL selects Redis as the Celery
broker and the cache. See README.md for every variable.
"""

import os
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

# Files users must not reach through a static or media URL: uploaded imports, built
# exports, backups. Served only by views that check ownership.
PRIVATE_STORAGE_DIR = Path(env_str("PRIVATE_STORAGE_DIR", str(DATA_DIR / "private"))).resolve()
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()

VERSION = "0.1.0"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or "dev-only-insecure-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS").split(",") if o]
CSRF_FAILURE_VIEW = "imports.views.csrf_failure"  # JSON 403 for /api/ paths, Django's page elsewhere

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "import_export",
    "timetracker",
    "imports",
    "exports",
    "backups",
    "portal",
    "travel",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collectstatic's files (the admin's CSS and JS) from any WSGI server, gunicorn
    # included, with no web server in front; during a restore too (it touches no database).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session and auth middleware: during a restore it answers 503 before anything
    # could query the session or user tables.
    "portal.middleware.RestoreMaintenanceMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.PortalContactMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "timetracker.urls"
WSGI_APPLICATION = "timetracker.wsgi.application"

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
                "portal.context_processors.current_client",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # Writers take the lock when their transaction begins and wait up to `timeout`
            # seconds for it; a deferred transaction that reads, then writes, fails at once
            # with "database is locked" when another writer holds it (concurrent imports).
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Until collectstatic has run (development, tests) the folder is missing, and WhiteNoise says
# so at every start; Django's staticfiles app serves the files then (DEBUG).
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Upload cap for imports and restores (bytes). Django's own limits cover only form fields
# held in memory; the file size is checked by imports/backups with a clear 413.
MAX_UPLOAD_SIZE = env_int("MAX_UPLOAD_SIZE", 50 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_SIZE
# Rows a CSV import writes per transaction; each batch commits with its checkpoint.
IMPORT_CSV_BATCH_SIZE = env_int("IMPORT_CSV_BATCH_SIZE", 1000)

EXPORT_TTL = timedelta(days=7)

# Third-party APIs; tests point these at a local fake server.
TOGGL_API_URL = env_str("TOGGL_API_URL", "https://api.track.toggl.com").rstrip("/")
HARVEST_API_URL = env_str("HARVEST_API_URL", "https://api.harvestapp.com").rstrip("/")
HTTP_TIMEOUT_SECONDS = float(env_str("HTTP_TIMEOUT_SECONDS", "30"))
CONTACT_EMAIL = env_str("CONTACT_EMAIL", "admin@example.com")

API_TOKEN_RATE_LIMIT_PER_MINUTE = env_int("API_TOKEN_RATE_LIMIT_PER_MINUTE", 100)
API_TOKEN_RATE_LIMIT_PER_HOUR = env_int("API_TOKEN_RATE_LIMIT_PER_HOUR", 1000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["timetracker.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["timetracker.authentication.ApiTokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "timetracker.api_exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TimeTracker API",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery: with REDIS_URL a real broker and workers; without it tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# Embedded default: run tasks in a background thread of the web process (timetracker/celery.py).
CELERY_TASK_RUN_IN_THREAD = env_bool("CELERY_TASK_RUN_IN_THREAD", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULE: dict = {}
# Exports: delete files of exports older than EXPORT_TTL and mark them expired.
CELERY_BEAT_SCHEDULE["exports-prune"] = {"task": "exports.tasks.exports_prune", "schedule": timedelta(hours=1)}
# Imports: delete stored uploads (previews never confirmed) a day old that no import refers to.
CELERY_BEAT_SCHEDULE["imports-prune"] = {"task": "imports.tasks.imports_prune", "schedule": timedelta(hours=1)}
# Imports: CSV imports with no progress for longer than the broker's redelivery are marked failed.
CELERY_BEAT_SCHEDULE["csv-imports-interrupted"] = {
    "task": "imports.tasks.csv_imports_interrupted_sweep", "schedule": timedelta(minutes=10),
}
# Backups: every few minutes, take the day's scheduled backup once it is due (backups/schedule.py).
CELERY_BEAT_SCHEDULE["backups-scheduled"] = {
    "task": "backups.backup_tasks.backups_scheduled_run",
    "schedule": timedelta(minutes=env_int("BACKUP_SCHEDULE_CHECK_MINUTES", 5)),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Mileage and per-diem PDFs with more rows than this are built by a Celery task.
TRAVEL_PDF_SYNC_MAX_ROWS = env_int("TRAVEL_PDF_SYNC_MAX_ROWS", 100)
# xhtml2pdf lays out the whole document in memory (about 70 KB a row): larger PDFs are refused.
TRAVEL_PDF_MAX_ROWS = env_int("TRAVEL_PDF_MAX_ROWS", 5000)
# Toggl/Harvest pulls (imports/pull_tasks.py): pacing and page sizes.
CELERY_IMPORTS = ["imports.pull_tasks", "backups.backup_tasks"]
TOGGL_MIN_REQUEST_INTERVAL = float(env_str("TOGGL_MIN_REQUEST_INTERVAL", "1.0"))
TOGGL_REPORT_PAGE_SIZE = env_int("TOGGL_REPORT_PAGE_SIZE", 50)
HARVEST_PER_PAGE = env_int("HARVEST_PER_PAGE", 2000)
HARVEST_REQUESTS_PER_15_SECONDS = env_int("HARVEST_REQUESTS_PER_15_SECONDS", 100)
# How often a worker looks for tasks of dead workers (unacked past the visibility timeout);
# kombu's defaults (10 s × every 10th sweep). The worker-kill test lowers all three.
CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10)
CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10)
# Restore flag (backups/restore_flag.py): its time-to-live, refreshed by the running restore.
RESTORE_FLAG_TTL_SECONDS = env_int("RESTORE_FLAG_TTL_SECONDS", 60)
# While the restore flag is set every page answers 503 (JSON under /api/) except views marked
# @restore_safe (portal.maintenance: the admin's backup/restore pages, the portal login, which
# check the flag themselves and then make no query) and paths starting with one of these
# (static files, which are no view). A prefix here exempts every path below it, whatever view
# it reaches: list only paths that never touch the database.
RESTORE_MAINTENANCE_EXEMPT_PATHS = ["/static/"]
RESTORE_RETRY_AFTER_SECONDS = env_int("RESTORE_RETRY_AFTER_SECONDS", 30)

# Portal invitations are e-mailed; without EMAIL_HOST they go to the console.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", CONTACT_EMAIL)

# Backups (backups/): limits on archives read for a restore (members, unpacked bytes), how long
# the restore's DROP SCHEMA waits for other sessions' locks, and after how long a restore that
# was queued but never started stops blocking new requests.
BACKUP_MAX_MEMBERS = env_int("BACKUP_MAX_MEMBERS", 100_000)
BACKUP_MAX_UNCOMPRESSED_BYTES = env_int("BACKUP_MAX_UNCOMPRESSED_BYTES", 20 * 1024**3)
# A member larger than BACKUP_COMPRESSION_RATIO_MIN_BYTES that compresses better than
# BACKUP_MAX_COMPRESSION_RATIO:1 is refused (a zip bomb: a database dump does not compress so well).
BACKUP_MAX_COMPRESSION_RATIO = env_int("BACKUP_MAX_COMPRESSION_RATIO", 200)
BACKUP_COMPRESSION_RATIO_MIN_BYTES = env_int("BACKUP_COMPRESSION_RATIO_MIN_BYTES", 100 * 1024**2)
# How many safety backups (taken before each restore) to keep: older ones are deleted after a
# successful restore.
BACKUP_SAFETY_KEEP = env_int("BACKUP_SAFETY_KEEP", 3)
BACKUP_RESTORE_LOCK_TIMEOUT_SECONDS = env_int("BACKUP_RESTORE_LOCK_TIMEOUT_SECONDS", 120)
RESTORE_QUEUE_STALE_SECONDS = env_int("RESTORE_QUEUE_STALE_SECONDS", 3600)
