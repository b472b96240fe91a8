import pytest
from django.test import Client

from governance import access
from governance.models import AuditEvent
from tests.factories import make_model, make_team, make_user, make_version


@pytest.fixture
def team(db):
    return make_team("Fraud analytics")


@pytest.fixture
def scientist(db, team):
    return make_user("dana", access.ROLE_DATA_SCIENTISTS, team.name)


@pytest.fixture
def other_scientist(db):
    """A data scientist in another team, with no grant on the fixtures' model."""
    return make_user("olga", access.ROLE_DATA_SCIENTISTS, "Other team")


@pytest.fixture
def approver(db):
    return make_user("avery", access.ROLE_APPROVERS)


@pytest.fixture
def auditor(db):
    return make_user("aude", access.ROLE_AUDITORS)


@pytest.fixture
def registry_admin(db):
    return make_user("ada", access.ROLE_REGISTRY_ADMINS)


@pytest.fixture
def viewer(db):
    """Holds only a view grant on `model` (added by the `model` fixture)."""
    return make_user("vic", access.ROLE_DATA_SCIENTISTS)


@pytest.fixture
def team_member(db, team, model):
    """In the model's team: view and change through the team's grant, no manage."""
    return make_user("tom", access.ROLE_DATA_SCIENTISTS, team.name)


@pytest.fixture
def outsider_approver(db):
    """An approver with no grant on the model."""
    return make_user("ozzy", access.ROLE_APPROVERS)


@pytest.fixture
def sam(db, team):
    """Another data scientist, in dana's team, not an approver."""
    return make_user("sam", access.ROLE_DATA_SCIENTISTS, team.name)


@pytest.fixture
def cora(db):
    """Compliance, with no grant of her own on the model."""
    return make_user("cora", access.ROLE_COMPLIANCE)


@pytest.fixture
def model(scientist, team, viewer):
    m = make_model(scientist, name="fraud-detector", team=team, description="Card **fraud**")
    access.grant(m, "view", user=viewer)
    return m


@pytest.fixture
def version(scientist, model):
    return make_version(scientist, model)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttling counters live in the cache: no test inherits another's failures."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def default_approvers(settings):
    """New models get approve for Approvers and Compliance, as in production (the test
    settings leave approvers to the fixtures)."""
    settings.ATTEST_DEFAULT_APPROVER_GROUPS = [access.ROLE_APPROVERS, access.ROLE_COMPLIANCE]


@pytest.fixture
def audit_count():
    """Call to get the number of audit events written since the fixture was created, or
    since the last `audit_count.reset()` (signing a test client in writes an event too, so
    tests that count from there reset after making their clients)."""
    state = {"start": AuditEvent.objects.count()}

    def count():
        return AuditEvent.objects.count() - state["start"]

    count.reset = lambda: state.update(start=AuditEvent.objects.count())
    return count


# --- The production stack (ATTEST_TEST_STACK=1) -------------------------------------------


@pytest.fixture(scope="session")
def stack_worker(django_db_setup, django_db_blocker):
    """A real Celery worker on the test database, for the whole session (stack mode)."""
    from tests.stack import STACK_ENABLED, CeleryWorker

    if not STACK_ENABLED:
        yield None
        return
    from django.db import connection

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()  # no leftovers from an earlier run
    worker = CeleryWorker(connection.settings_dict["NAME"]).start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _stack_worker_running(request):
    """In stack mode every test that may queue work gets the running worker."""
    from tests.stack import STACK_ENABLED

    if not STACK_ENABLED:
        yield
        return
    if "transactional_db" in request.fixturenames:
        request.getfixturevalue("stack_worker")
        yield
        return
    # A test inside a rolled-back transaction: no worker could see its rows, so tasks it
    # triggers (e.g. through django_capture_on_commit_callbacks) run in this process.
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def wait_for_job(job_id: int, timeout: float = 60):
    """Wait until a background job has finished (at once when tasks run in process)."""
    from core.models import Job
    from tests.stack import wait_for

    wait_for(
        lambda: Job.objects.get(pk=job_id).is_finished,
        timeout=timeout,
        what=f"job {job_id}",
        interval=0.2,
    )
    return Job.objects.get(pk=job_id)


def download_status() -> int:
    """What a permitted download answers: the bytes (local files) or a redirect to a
    presigned URL (S3)."""
    from django.core.files.storage import default_storage

    return 302 if hasattr(default_storage, "bucket") else 200


def downloaded_bytes(response) -> bytes:
    if response.status_code == 302:
        import urllib.request

        with urllib.request.urlopen(response["Location"]) as remote:  # noqa: S310 (loopback)
            return remote.read()
    return b"".join(response.streaming_content)
