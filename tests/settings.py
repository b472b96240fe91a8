"""Test settings: the real settings module, with test-only secrets and fast hashing.

DATABASE_URL, CELERY_BROKER_URL and ARTIFACT_STORAGE pass through from the environment, so
the same suite runs on the embedded default and on the production stack (see .ci/run).
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("ATTEST_VAR_DIR", tempfile.mkdtemp(prefix="attest-test-var-"))
os.environ.setdefault("STATIC_MANIFEST", "false")

from tests.stack import STACK_ENABLED, boot_stack_for_settings  # noqa: E402

if STACK_ENABLED:
    # A worker killed mid-task must get its message back quickly in the failure tests.
    os.environ.setdefault("CELERY_VISIBILITY_TIMEOUT", "5")
    os.environ.setdefault("CELERY_UNACKED_RESTORE_INTERVAL", "1")
    # Small parts, so modest test files already go up as multipart uploads.
    os.environ.setdefault("ARTIFACT_S3_MULTIPART_THRESHOLD", str(5 * 1024 * 1024))
    os.environ.setdefault("ARTIFACT_S3_MULTIPART_CHUNKSIZE", str(5 * 1024 * 1024))
boot_stack_for_settings()

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tree heads are signed where a test asks (test_audit_log_transparency), not after
# whichever request happens to come first in a minute.
ATTEST_SIGN_TREE_HEADS_IN_PROCESS = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": None}  # in memory
else:
    # Django flushes tables between transactional tests; only test sessions may truncate
    # the audit trail (see governance/migrations/0003_audit_append_only.py).
    # Added to the options settings.py already set (the statement timeout), not replacing them.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c attest.allow_audit_truncate=on".strip()
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405  (whitenoise looks for it)
# The suite's fixtures assign approvers per model by hand, and its permission matrices
# include an approver without a grant on the model; tests of the default assignment (every
# new model's approve to Approvers and Compliance, the production default) switch it on
# with the `default_approvers` fixture (tests/conftest.py).
ATTEST_DEFAULT_APPROVER_GROUPS = []
# One process: the cache (API token failure counters, lockout de-duplication) in memory,
# emptied before every test (tests/conftest.py), whatever the stack configures.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Two-factor authentication is required of approvers, Compliance and registry admins in
# production; the suite's fixtures sign those roles in with force_login, so it is off here
# and tests/identity/test_two_factor.py switches it on.
ATTEST_2FA_REQUIRED_ROLES = []
