"""Attest settings. Everything that differs between deployments comes from the environment.

The embedded default (no variables set except DEBUG=true) is SQLite under var/, artifacts
under var/, and background work in process. README.md lists every variable.
"""

import contextlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from boto3.s3.transfer import TransferConfig
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_role_map, env_str
from registry import pickle_allowlist as _pickle_allowlist

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ATTEST_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105
# Earlier keys, newest first, while rotating SECRET_KEY: sessions, signed values and
# sealed webhook secrets (governance.sealing) made with them stay valid.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "django_htmx",
    "csp",
    "django_celery_results",
    "core",
    "governance",
    "registry",
    "mlflow_api",
    "identity",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "aisystems",
    "controls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "governance.request_context.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "identity.twofactor.SecondFactorMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "governance.request_context.RequestActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.db_limits.StatementTimeoutMiddleware",
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
                "governance.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'attest.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default (docs/deploy.md, "SQLite"): each web thread keeps its connection
    # for DB_CONN_MAX_AGE seconds, as on PostgreSQL (opening one, with its pragmas, costs
    # more than a small API call's queries, and a kept one keeps its page cache).
    _sqlite_sync = env_str("SQLITE_SYNCHRONOUS", "NORMAL").upper()
    if _sqlite_sync not in ("NORMAL", "FULL"):
        raise ImproperlyConfigured("SQLITE_SYNCHRONOUS: use NORMAL or FULL.")
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
        # failing with "database is locked" when a read lock cannot be upgraded.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # WAL: readers never wait for the writer. synchronous=NORMAL: a commit is not
        # fsynced until the next checkpoint, so a power loss or an OS crash (not a crash
        # of the process) can lose the last transactions, whole, never corrupt the file;
        # FULL fsyncs every commit. mmap: reads straight from the OS page cache.
        "init_command": (
            f"PRAGMA journal_mode=WAL; PRAGMA synchronous={_sqlite_sync}; "
            f"PRAGMA mmap_size={env_int('SQLITE_MMAP_BYTES', 256 * 1024**2)};"
        ),
    }
# PostgreSQL: the longest one statement may run, in ms (0: no limit). Web processes get
# DB_STATEMENT_TIMEOUT_MS; Celery workers and management commands (reports, exports,
# migrations) get DB_LONG_STATEMENT_TIMEOUT_MS, 0 by default (config/db_limits.py).
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30000)
DB_LONG_STATEMENT_TIMEOUT_MS = env_int("DB_LONG_STATEMENT_TIMEOUT_MS", 0)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    from config.db_limits import statement_timeout_options

    DATABASES["default"]["OPTIONS"] = statement_timeout_options(
        DATABASES["default"].get("OPTIONS", {}), DB_STATEMENT_TIMEOUT_MS
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "governance.auth_backends.ExpiringModelBackend",
    "identity.oidc.OIDCBackend",  # answers only the identity provider's callback
    "guardian.backends.ObjectPermissionBackend",
]
# Django's hashers, with PBKDF2-SHA256 (the default) computed at low CPU priority so that a
# flood of sign-in attempts does not take the CPU from everyone else (governance/hashers.py).
PASSWORD_HASHERS = [
    "governance.hashers.LowPriorityPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# The helper thread's nice value (0: hash in the request's own thread, as Django does).
ATTEST_PASSWORD_HASH_NICE = env_int("PASSWORD_HASH_NICE", 19)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "governance:home"
LOGOUT_REDIRECT_URL = "login"
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous visitors see nothing

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and artifact storage -------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))

ARTIFACT_STORAGE = env_str("ARTIFACT_STORAGE", "local")
if ARTIFACT_STORAGE == "local":
    _artifact_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "artifacts"), "base_url": None},
    }
elif ARTIFACT_STORAGE == "s3":
    _artifact_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("ARTIFACT_S3_BUCKET", required=True),
            "region_name": env_str("ARTIFACT_S3_REGION", "us-east-1"),
            "endpoint_url": env_str("ARTIFACT_S3_ENDPOINT_URL"),
            "access_key": env_str("ARTIFACT_S3_ACCESS_KEY_ID"),
            "secret_key": env_str("ARTIFACT_S3_SECRET_ACCESS_KEY"),
            "default_acl": None,
            "signature_version": "s3v4",
            "file_overwrite": False,
            "querystring_expire": env_int("ARTIFACT_S3_URL_EXPIRY_SECONDS", 300),
            # Files above the threshold go up as multipart uploads, part by part, so no
            # artifact is ever held whole in memory.
            "transfer_config": TransferConfig(
                multipart_threshold=env_int("ARTIFACT_S3_MULTIPART_THRESHOLD", 16 * 1024**2),
                multipart_chunksize=env_int("ARTIFACT_S3_MULTIPART_CHUNKSIZE", 16 * 1024**2),
                max_concurrency=4,
            ),
        },
    }
else:
    raise ImproperlyConfigured(f"ARTIFACT_STORAGE={ARTIFACT_STORAGE!r}: use 'local' or 's3'.")

STORAGES = {
    "default": _artifact_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

ARTIFACT_MAX_BYTES = env_int("ARTIFACT_MAX_BYTES", 2 * 1024**3)
# Uploads larger than this go to a temporary file on disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_HANDLERS = ["registry.uploads.SizeLimitedUploadHandler"]

# --- Pickle scanning (docs/architecture.md, "Pickle scanning") ----------------------------
# Globals a pickle may import and still scan clean, beyond the built-in allow-list:
# comma-separated `module.name`, `module.*` or `package.**.Name*`. Entries that would let
# a code-running global through (builtins.eval, os.*, ...) are refused here, at start-up.
try:
    ATTEST_SCAN_ALLOWED_GLOBALS = list(
        _pickle_allowlist.parse_entries(env_list("ATTEST_SCAN_ALLOWED_GLOBALS", []))
    )
except _pickle_allowlist.AllowListError as _exc:
    raise ImproperlyConfigured(f"ATTEST_SCAN_ALLOWED_GLOBALS: {_exc}") from None
# Limits per artifact: bytes unpacked from archives and compressed streams, archive
# members, archives nested in archives, pickle opcodes read. Over a limit: scan "error".
ATTEST_SCAN_MAX_BYTES = env_int("ATTEST_SCAN_MAX_BYTES", 512 * 1024**2)
ATTEST_SCAN_MAX_MEMBERS = env_int("ATTEST_SCAN_MAX_MEMBERS", 10_000)
ATTEST_SCAN_MAX_DEPTH = env_int("ATTEST_SCAN_MAX_DEPTH", 4)
ATTEST_SCAN_MAX_OPCODES = env_int("ATTEST_SCAN_MAX_OPCODES", 5_000_000)
for _name in ("BYTES", "MEMBERS", "DEPTH", "OPCODES"):
    if globals()[f"ATTEST_SCAN_MAX_{_name}"] < 1:
        raise ImproperlyConfigured(f"ATTEST_SCAN_MAX_{_name} must be at least 1.")
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# --- Background work -------------------------------------------------------------------
_broker = env_str("CELERY_BROKER_URL", "")
# Without a broker, tasks run in process (eager). Celery still takes a producer for them:
# an in-memory one, named so kombu does not warn that it had to guess a host name.
CELERY_BROKER_URL = _broker or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not _broker
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
# A worker that dies mid-task leaves its message unacknowledged; Redis hands it to another
# worker after this many seconds. Keep it above the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # How often workers look for such messages (kombu checks every tenth tick).
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "socket_connect_timeout": 3,
}
# If the broker is down when a write commits, give up quickly: the job stays queued and is
# dispatched again later (core.dispatch), and the page says so.
CELERY_BEAT_SCHEDULE = {
    "dispatch-pending-jobs": {"task": "registry.tasks.dispatch_pending_jobs", "schedule": 60.0},
    "retry-due-webhooks": {"task": "governance.webhook_tasks.retry_due_webhooks", "schedule": 30.0},
    "expire-reports": {"task": "governance.report_tasks.expire_reports", "schedule": 3600.0},
    "sign-audit-tree-head": {"task": "governance.log_tasks.sign_tree_head", "schedule": 60.0},
    # Opens the periodic access review when due, and reminds its reviewers (docs/deploy.md).
    "access-review-tick": {"task": "governance.tasks.access_review_tick", "schedule": 86400.0},
}
# Access reviews: how often one opens (quarterly), how long reviewers have, how often the
# reviewers of pending items are reminded by e-mail.
ATTEST_ACCESS_REVIEW_INTERVAL_DAYS = env_int("ATTEST_ACCESS_REVIEW_INTERVAL_DAYS", 91)
ATTEST_ACCESS_REVIEW_DUE_DAYS = env_int("ATTEST_ACCESS_REVIEW_DUE_DAYS", 21)
ATTEST_ACCESS_REVIEW_REMIND_DAYS = env_int("ATTEST_ACCESS_REVIEW_REMIND_DAYS", 7)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3}
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# On a lost broker connection, stop late-acknowledged tasks; the broker redelivers them.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Email -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "attest@localhost")

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy and crash leftovers (docs/deploy.md) -------------------------
# Every page: scripts and styles only from our own static files, never inline, never eval.
# Self-contained documents served to browsers (report HTML, printable model card) carry a
# hash of their one <style> block instead (registry/csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Uploads spool here while the request streams in; the sweep (manage.py sweep_uploads, and
# a beat task on the production stack) removes spool files and stored objects that no row
# references once they are older than the grace period, so a crash mid-upload leaves nothing.
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR", str(VAR_DIR / "tmp" / "uploads"))
with contextlib.suppress(OSError):  # if it cannot be made, Django's check files.E001 says so
    Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
# Off while a database restored from a backup is brought up against the live storage: the
# objects written after the backup have no rows there, and are not leftovers.
ATTEST_SWEEP_ENABLED = env_bool("SWEEP_ENABLED", True)
ATTEST_SWEEP_GRACE_SECONDS = env_int("SWEEP_GRACE_SECONDS", 24 * 3600)
# Most objects looked at per sweep run (storage listings are paged); the rest wait for the next.
ATTEST_SWEEP_BATCH = env_int("SWEEP_BATCH", 5000)
CELERY_BEAT_SCHEDULE["sweep-uploads"] = {"task": "registry.tasks.sweep_uploads", "schedule": 3600.0}

# --- Attest --------------------------------------------------------------------------
ATTEST_PAGE_SIZE = env_int("ATTEST_PAGE_SIZE", 25)
# The model list counts its matches up to this many, then says "more than" (see
# core/paging.py): an exact count of a long permission-filtered list costs more than
# the page.
ATTEST_LIST_COUNT_CAP = env_int("ATTEST_LIST_COUNT_CAP", 1000)
# Used in links sent by email.
ATTEST_BASE_URL = env_str("ATTEST_BASE_URL", "http://127.0.0.1:8000")
# Model cards: the sections that must be filled for a card to count as complete (the
# "model card complete" approval gate); keys are listed in registry/cards/schema.py.
ATTEST_MODEL_CARD_REQUIRED_SECTIONS = env_list(
    "ATTEST_MODEL_CARD_REQUIRED_SECTIONS",
    [
        "model_details",
        "intended_use",
        "out_of_scope",
        "metrics",
        "evaluation_data",
        "training_data",
        "risks_limitations",
        "human_oversight",
    ],
)
# Whether a higher or lower value is better, per metric name ("loss:lower,f1:higher"); names
# not listed are lower-is-better if they look like a loss, error or latency, else higher.
ATTEST_METRIC_DIRECTIONS = env_list("ATTEST_METRIC_DIRECTIONS", [])
# MLflow API search grammars (filter, order_by): longest filter in characters and most
# clauses; a longer or more complex one is a 400 INVALID_PARAMETER_VALUE.
ATTEST_API_FILTER_MAX_LENGTH = env_int("ATTEST_API_FILTER_MAX_LENGTH", 1000)
ATTEST_API_FILTER_MAX_CLAUSES = env_int("ATTEST_API_FILTER_MAX_CLAUSES", 20)
# YAML read from users (model-card front matter, MLmodel files; registry/safe_yaml.py): largest
# document in bytes and deepest nesting. Anchors and aliases are always refused.
ATTEST_YAML_MAX_BYTES = env_int("ATTEST_YAML_MAX_BYTES", 256 * 1024)
ATTEST_YAML_MAX_DEPTH = env_int("ATTEST_YAML_MAX_DEPTH", 32)
# Webhook endpoints in private, loopback or link-local ranges are refused unless allowed.
# The instance signing key (governance.signing): a PEM file, else one kept under var/keys.
ATTEST_SIGNING_KEY_FILE = env_str("ATTEST_SIGNING_KEY_FILE", "")
ATTEST_SIGNING_RETIRED_KEYS_DIR = env_str("ATTEST_SIGNING_RETIRED_KEYS_DIR", "")
ATTEST_SIGNING_CERT_FILE = env_str("ATTEST_SIGNING_CERT_FILE", "")
# Without workers (the embedded default) the web process signs audit tree heads itself.
ATTEST_SIGN_TREE_HEADS_IN_PROCESS = CELERY_TASK_ALWAYS_EAGER
# An RFC 3161 time-stamping authority for tree heads and PDFs, and the CA that issued its
# certificate (PEM), which verify_audit trusts (governance.timestamping).
ATTEST_TSA_URL = env_str("ATTEST_TSA_URL", "")
ATTEST_TSA_CA_FILE = env_str("ATTEST_TSA_CA_FILE", "")
# Witnessing: a second store for signed tree heads (governance.witness). An S3 bucket with
# Object Lock (compliance mode), or a directory; endpoint and keys default to the artifacts'.
ATTEST_WITNESS_S3_BUCKET = env_str("ATTEST_WITNESS_S3_BUCKET", "")
ATTEST_WITNESS_S3_ENDPOINT_URL = env_str(
    "ATTEST_WITNESS_S3_ENDPOINT_URL", env_str("ARTIFACT_S3_ENDPOINT_URL", "")
)
ATTEST_WITNESS_S3_REGION = env_str(
    "ATTEST_WITNESS_S3_REGION", env_str("ARTIFACT_S3_REGION", "us-east-1")
)
ATTEST_WITNESS_S3_ACCESS_KEY_ID = env_str(
    "ATTEST_WITNESS_S3_ACCESS_KEY_ID", env_str("ARTIFACT_S3_ACCESS_KEY_ID", "")
)
ATTEST_WITNESS_S3_SECRET_ACCESS_KEY = env_str(
    "ATTEST_WITNESS_S3_SECRET_ACCESS_KEY", env_str("ARTIFACT_S3_SECRET_ACCESS_KEY", "")
)
ATTEST_WITNESS_RETENTION_DAYS = env_int("ATTEST_WITNESS_RETENTION_DAYS", 3653)
ATTEST_WITNESS_DIR = env_str("ATTEST_WITNESS_DIR", "")
ATTEST_WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# Reports: how long a generated file is kept. Technical documentation and evidence bundles
# default to 10 years (EU AI Act Art. 18); audit reports, exports and inventories are logs,
# kept at least 6 months (Art. 19). A system check refuses less than 183 days.
ATTEST_REPORT_RETENTION_DAYS_DOCUMENTATION = env_int("REPORT_RETENTION_DAYS_DOCUMENTATION", 3653)
ATTEST_REPORT_RETENTION_DAYS_LOGS = env_int("REPORT_RETENTION_DAYS_LOGS", 366)
# Largest uploaded compliance document (e.g. a signed declaration of conformity).
ATTEST_COMPLIANCE_DOCUMENT_MAX_BYTES = env_int("COMPLIANCE_DOCUMENT_MAX_BYTES", 50 * 1024**2)

# --- Sign-in throttling, sessions and proxies (docs/deploy.md) --------------------------
# How many reverse proxies you run in front of Attest: the client address is the entry that
# many hops from the right of X-Forwarded-For (0: REMOTE_ADDR, the header is ignored). The
# older TRUST_X_FORWARDED_FOR=true means 1.
ATTEST_TRUSTED_PROXY_COUNT = env_int(
    "TRUSTED_PROXY_COUNT", 1 if env_bool("TRUST_X_FORWARDED_FOR", False) else 0
)
if ATTEST_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")

# The cache holds the API token failure counters. Redis when CACHE_URL (or a Redis Celery
# broker) is set, so every worker process shares them; otherwise each process's memory.
_cache_url = env_str("CACHE_URL", _broker if _broker.startswith(("redis://", "rediss://")) else "")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "attest",
        }
    }
elif _cache_url in ("", "locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={_cache_url!r}: use redis://host:6379/1 or locmem://.")

# django-axes: lock sign-in for a username, and separately for an address, after
# AXES_FAILURE_LIMIT failures within AXES_COOLOFF minutes (failures are kept in the database,
# shared by every worker). Registry admins unlock in the admin ("Access attempts").
INSTALLED_APPS += ["axes"]
# The lockout check comes first, before any password is hashed; the expiry backend follows.
AUTHENTICATION_BACKENDS.insert(0, "governance.auth_backends.ThrottledSignInBackend")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "governance.sessions.SessionLifetimeMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # axes wants to be last
# A sign-in POST from a locked address or for a locked username is refused here, from one
# cache read, before sessions, CSRF, authentication or a template (governance.signin_gate).
MIDDLEWARE.insert(
    MIDDLEWARE.index("governance.request_context.RequestContextMiddleware") + 1,
    "governance.signin_gate.SignInGateMiddleware",
)
# API calls with an Authorization header skip what only browsers need (sessions, CSRF,
# messages, axes, page headers): mlflow_api/fastpath.py says what still holds.
MIDDLEWARE.insert(
    MIDDLEWARE.index("governance.signin_gate.SignInGateMiddleware") + 1,
    "mlflow_api.fastpath.ApiTokenFastPathMiddleware",
)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_CLIENT_IP_CALLABLE = "governance.request_context.client_ip"
AXES_LOCKOUT_CALLABLE = "governance.signin.lockout_response"
AXES_ENABLE_ADMIN = False  # registered on Attest's admin site instead (governance.admin)
AXES_RESET_ON_SUCCESS = False  # a right password does not clear an address's failures
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are audit events already
AXES_HTTP_RESPONSE_CODE = 429
# Masked in axes' copy of the failed form (the password always is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
# Attempts while locked are refused without touching axes' counters (those that reach axes
# are still kept as failed sign-ins; the sign-in gate refuses the rest before they do): the
# lock runs AXES_COOLOFF from the failure that set it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

# Failed sign-ins are written to a small table (governance.FailedSignIn) rather than the
# hash chain, and folded into the chain as one summary event per batch: when this many
# are waiting, or the oldest has waited this many seconds.
ATTEST_FAILED_SIGNIN_BATCH = env_int("FAILED_SIGNIN_BATCH", 100)
ATTEST_FAILED_SIGNIN_FOLD_SECONDS = env_int("FAILED_SIGNIN_FOLD_SECONDS", 60)
CELERY_BEAT_SCHEDULE["fold-failed-signins"] = {
    "task": "governance.tasks.fold_failed_signins",
    "schedule": float(ATTEST_FAILED_SIGNIN_FOLD_SECONDS),
}

# API tokens: after this many failed tokens from one address within the window, that
# address gets 429 (with Retry-After) until the window ends.
ATTEST_API_TOKEN_FAILURE_LIMIT = env_int("API_TOKEN_FAILURE_LIMIT", 20)
ATTEST_API_TOKEN_FAILURE_WINDOW_SECONDS = env_int("API_TOKEN_FAILURE_WINDOW_SECONDS", 300)

# Sessions end after SESSION_ABSOLUTE_LIFETIME_SECONDS whatever happens, and after an idle
# time: shorter for those who can approve or administer (approvers, Compliance, registry
# admins, superusers) than for everyone else.
ATTEST_SESSION_ABSOLUTE_LIFETIME = env_int("SESSION_ABSOLUTE_LIFETIME_SECONDS", 8 * 3600)
ATTEST_SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 2 * 3600)
ATTEST_SESSION_PRIVILEGED_IDLE_TIMEOUT = env_int("SESSION_PRIVILEGED_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_COOKIE_AGE = ATTEST_SESSION_ABSOLUTE_LIFETIME

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": env_str("CELERY_TASK_LOG_LEVEL", "WARNING")},
        # WeasyPrint logs every layout step at INFO; keep its warnings.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
# Groups granted approve on every new model, by the system, when it is created: so every
# model has someone who can decide its requests from the moment it exists. Only the
# approver roles can hold approve (governance/access/grants.py); "" assigns approvers by hand.
ATTEST_DEFAULT_APPROVER_GROUPS = env_list(
    "ATTEST_DEFAULT_APPROVER_GROUPS", ["Approvers", "Compliance"]
)
if not set(ATTEST_DEFAULT_APPROVER_GROUPS) <= {"Approvers", "Compliance"}:
    raise ImproperlyConfigured(
        "ATTEST_DEFAULT_APPROVER_GROUPS may only name Approvers and Compliance, not "
        + ", ".join(sorted(set(ATTEST_DEFAULT_APPROVER_GROUPS) - {"Approvers", "Compliance"}))
    )


# --- Single sign-on (OpenID Connect) and local passwords ---------------------------------
# docs/deploy.md, "Single sign-on". Set OIDC_ISSUER to switch it on; endpoints and keys come
# from the issuer's discovery document.
OIDC_ISSUER = env_str("OIDC_ISSUER", "") or ""
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", "") or ""
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "") or ""
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile") or "openid"
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "your identity provider")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_TEAM_CLAIM = env_str("OIDC_TEAM_CLAIM", "") or ""
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_ROLE_MAP = env_role_map("OIDC_ROLE_MAP")
# Someone whose provider groups map to no Attest role is refused (and loses every role).
OIDC_REQUIRE_ROLE = env_bool("OIDC_REQUIRE_ROLE", True)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # for signing out at the provider (id_token_hint)
OIDC_AUTHENTICATE_CLASS = "identity.oidc.SignInRequestView"
OIDC_CALLBACK_CLASS = "identity.views.SignInCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "login"
if OIDC_ISSUER and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too.")
if OIDC_ISSUER:  # signing out POSTs to Attest, which redirects to the provider's end-session
    _issuer = urlsplit(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        f"{_issuer.scheme}://{_issuer.netloc}"
    )
# Local passwords: switch them off for everyone but named break-glass accounts once single
# sign-on is in place.
ATTEST_LOCAL_PASSWORDS = env_bool("ATTEST_LOCAL_PASSWORDS", True)
ATTEST_BREAK_GLASS_USERS = env_list("ATTEST_BREAK_GLASS_USERS", [])

# Two-factor authentication (identity/twofactor.py, docs/deploy.md "Two-factor").
ATTEST_2FA_REQUIRED_ROLES = env_list(
    "ATTEST_2FA_REQUIRED_ROLES", ["Approvers", "Compliance", "Registry admins"]
)
ATTEST_STEP_UP_MINUTES = env_int("ATTEST_STEP_UP_MINUTES", 15)
# The decisions that ask for a fresh code (URL names): approve or reject, grant or revoke,
# change a risk class or decide one, roll back Production.
ATTEST_STEP_UP_VIEWS = frozenset(
    {
        "governance:request-decide",
        "governance:risk-request-decide",
        "governance:model-risk-class",
        "governance:model-access",
        "governance:model-access-revoke",
        "governance:model-rollback",
        "aisystems:system-risk-class",
        "aisystems:incident-approve",
        # The admin's grant pages and role memberships (who is an approver).
        "admin:registry_registeredmodeluserobjectpermission_add",
        "admin:registry_registeredmodeluserobjectpermission_delete",
        "admin:registry_registeredmodelgroupobjectpermission_add",
        "admin:registry_registeredmodelgroupobjectpermission_delete",
        "admin:auth_user_add",
        "admin:auth_user_change",
        "admin:auth_group_change",
    }
)
OTP_TOTP_ISSUER = "Attest"
