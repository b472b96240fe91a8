"""Issue 13: a pickle scan that cannot be fooled.

Attacker: a governed user (a data scientist's account and API token) who wants a pickle
that runs code when loaded to be recorded as clean or "not a pickle", and promoted.

The hostile pickles are written opcode by opcode or with pickle.dumps (which never runs
what it writes); nothing in this file, or in Attest, ever unpickles them.
"""

import bz2
import gzip
import io
import lzma
import pickle
import sys
import tarfile
import time
import types
import zipfile
from collections import OrderedDict

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from governance.models import AuditEvent
from governance.policy import evaluate_gates
from governance.services import model_risk_class_set, transition_request_open
from registry.models import Artifact, Job, ModelVersion
from tests.conftest import client_for
from tests.registry.conftest import post_upload

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp", "scans_in_process")

# GLOBAL os.system, MARK, STRING 'echo hi', TUPLE, REDUCE, STOP: protocol 0, no magic byte.
OS_SYSTEM = b"cos\nsystem\n(S'echo hi'\ntR."


class _Gadget:
    """Pickles as a call of `func(*args)`; pickling it runs nothing."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def console_push_pickle() -> bytes:
    """The red team's model.pkl: code.InteractiveConsole.push('import os; ...') through a
    protocol-4 STACK_GLOBAL of a dotted name, which picklescan only calls "suspicious"."""
    import code

    return pickle.dumps(
        _Gadget(code.InteractiveConsole.push, code.InteractiveConsole(), "import os"),
        protocol=4,
    )


MLMODEL = b"""artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    pickled_model: model.weights
    python_version: 3.11.9
  sklearn:
    pickled_model: model.weights
    serialization_format: cloudpickle
"""


@pytest.fixture
def scans_in_process(monkeypatch):
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.fixture
def client(scientist):
    return client_for(scientist)


def upload(client, model, files, capture) -> ModelVersion:
    with capture(execute=True):
        response = post_upload(client, model, files=list(files.items()))
    assert response.status_code == 302, response.content.decode()[:2000]
    model.refresh_from_db()
    return ModelVersion.objects.get(registered_model=model, version=model.latest_version_number)


def statuses(version) -> dict[str, str]:
    return dict(version.artifacts.values_list("path", "scan_status"))


def scan_gate(version):
    return next(g for g in evaluate_gates(version, {}) if g.name == "Artifacts scanned clean")


def classify(model):
    model_risk_class_set(
        actor=model.created_by, registered_model=model, risk_class="limited", rationale="tool"
    )


# --- The red team's files, and the control --------------------------------------------


RED_TEAM = {
    "console push (model.pkl)": ({"model.pkl": console_push_pickle()}, "model.pkl"),
    "protocol 0 named by MLmodel (model.weights)": (
        {"model.weights": OS_SYSTEM, "MLmodel": MLMODEL},
        "model.weights",
    ),
    "gzip (model.pkl.gz)": ({"model.pkl.gz": gzip.compress(OS_SYSTEM)}, "model.pkl.gz"),
    "control os.system (evil.pkl)": ({"evil.pkl": OS_SYSTEM}, "evil.pkl"),
}


@pytest.mark.parametrize("case", list(RED_TEAM))
def test_the_red_team_pickles_are_flagged_and_cannot_be_promoted(
    case, client, scientist, model, django_capture_on_commit_callbacks
):
    files, hostile = RED_TEAM[case]
    version = upload(client, model, files, django_capture_on_commit_callbacks)

    artifact = version.artifacts.get(path=hostile)
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED
    assert artifact.scan_findings and all(
        f.get("safety") in ("dangerous", "not allow-listed") for f in artifact.scan_findings
    )
    classify(model)
    with pytest.raises(ValidationError, match=r"Artifacts scanned clean.*flagged"):
        transition_request_open(
            actor=scientist, version=version, target_stage="Staging", justification="ship it"
        )


def test_the_console_gadget_is_named_in_the_findings(
    client, model, django_capture_on_commit_callbacks
):
    version = upload(
        client, model, {"model.pkl": console_push_pickle()}, django_capture_on_commit_callbacks
    )

    findings = version.artifacts.get().scan_findings
    assert findings[0] == {
        "module": "code",
        "name": "InteractiveConsole.push",
        "safety": "dangerous",
    }


def test_a_gzip_member_is_named_in_the_finding(client, model, django_capture_on_commit_callbacks):
    version = upload(
        client,
        model,
        {"model.pkl.gz": gzip.compress(OS_SYSTEM)},
        django_capture_on_commit_callbacks,
    )
    assert version.artifacts.get().scan_findings == [
        {"module": "os", "name": "system", "safety": "dangerous", "member": "(gzip)"}
    ]


@pytest.mark.parametrize(
    "name,wrap",
    [
        ("weights.bz2", bz2.compress),
        ("weights.xz", lzma.compress),
        ("weights.lzma", lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE)),
        ("weights.zz", __import__("zlib").compress),
        ("bundle.tar", lambda b: _tar({"inner/model.bin": b})),
        ("bundle.tgz", lambda b: gzip.compress(_tar({"model.bin": b}))),
        ("nested.zip", lambda b: _zip({"a.zip": _zip({"deep/model.data": b})})),
        ("gz-in-zip.bin", lambda b: _zip({"m.gz": gzip.compress(b)})),
    ],
)
def test_every_container_is_opened_by_content(
    name, wrap, client, model, django_capture_on_commit_callbacks
):
    version = upload(client, model, {name: wrap(OS_SYSTEM)}, django_capture_on_commit_callbacks)
    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED, artifact.scan_findings


def test_a_file_an_mlmodel_names_as_pickled_model_must_be_a_pickle(
    client, model, django_capture_on_commit_callbacks
):
    """Bytes that are not a pickle, where MLmodel says the pickled model is: an error, not
    "not a pickle" (the loader would try to unpickle it)."""
    version = upload(
        client,
        model,
        {"model.weights": b"\x00\x01 not a pickle", "MLmodel": MLMODEL},
        django_capture_on_commit_callbacks,
    )
    assert statuses(version) == {"model.weights": "error", "MLmodel": "not_applicable"}


def test_a_pickle_extension_is_not_needed_and_not_enough(
    client, model, django_capture_on_commit_callbacks
):
    version = upload(
        client,
        model,
        {"notes.txt": OS_SYSTEM, "readme.md": b"# Model\nhello\n", "model.pkl": b"plain text"},
        django_capture_on_commit_callbacks,
    )
    assert statuses(version) == {
        "notes.txt": "flagged",
        "readme.md": "not_applicable",
        "model.pkl": "not_applicable",  # no opcode stream: nothing a loader could run
    }


def test_an_import_outside_the_allow_list_is_flagged_even_if_harmless_looking(
    client, model, django_capture_on_commit_callbacks
):
    from fractions import Fraction  # noqa: F401  (allowed) vs. a name that is not

    harmless = b"\x80\x04\x8c\x08calendar\x8c\x08Calendar\x93)R."
    version = upload(client, model, {"m.pkl": harmless}, django_capture_on_commit_callbacks)
    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED
    assert artifact.scan_findings == [
        {"module": "calendar", "name": "Calendar", "safety": "not allow-listed"}
    ]


def test_the_setting_extends_the_allow_list(
    settings, client, model, django_capture_on_commit_callbacks
):
    settings.ATTEST_SCAN_ALLOWED_GLOBALS = ["calendar.Calendar"]
    harmless = b"\x80\x04\x8c\x08calendar\x8c\x08Calendar\x93)R."
    version = upload(client, model, {"m.pkl": harmless}, django_capture_on_commit_callbacks)
    assert version.artifacts.get().scan_status == Artifact.ScanStatus.CLEAN


# --- Ordinary models scan clean ------------------------------------------------------------


def _fitted():
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    y = (X[:, 0] > 0.5).astype(int)
    return [
        make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
    ]


def test_scikit_learn_pickles_and_joblib_files_scan_clean(
    client, model, django_capture_on_commit_callbacks
):
    import joblib

    pipeline, forest = _fitted()
    files = {
        "pipeline.pkl": pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL),
        "forest-p2.pkl": pickle.dumps(forest, protocol=2),
        "forest-p0.pkl": pickle.dumps(forest, protocol=0),
    }
    for label, compress in [("raw", 0), ("zlib", 3), ("bz2", ("bz2", 3)), ("xz", ("xz", 3))]:
        buffer = io.BytesIO()
        joblib.dump(pipeline, buffer, compress=compress)
        files[f"pipeline-{label}.joblib"] = buffer.getvalue()
    buffer = io.BytesIO()
    joblib.dump(forest, buffer)  # raw array bytes between the opcodes
    files["forest.joblib"] = buffer.getvalue()

    version = upload(client, model, files, django_capture_on_commit_callbacks)

    got = {a.path: (a.scan_status, a.scan_findings) for a in version.artifacts.all()}
    assert got == {path: ("clean", []) for path in files}
    assert scan_gate(version).passed


@pytest.fixture
def fake_modules(monkeypatch):
    """Stand-ins registered under real package names, so pickle.dumps writes exactly the
    GLOBAL opcodes the real package would. Only used to write bytes."""

    def install(spec: dict[str, dict[str, object]]):
        for module_name, members in spec.items():
            module = types.ModuleType(module_name)
            for attr, value in members.items():
                if isinstance(value, type) or callable(value):
                    value.__module__ = module_name
                    value.__qualname__ = attr
                    value.__name__ = attr
                setattr(module, attr, value)
            monkeypatch.setitem(sys.modules, module_name, module)

    return install


def xgboost_pickle(fake_modules) -> bytes:
    """A pickled xgboost.XGBClassifier (xgboost itself is ~300 MB with its CUDA wheels, so
    not installed): the sklearn wrapper's __dict__ holds a Booster whose __getstate__ is
    {"handle": bytearray(<the model in UBJSON>)}, as in xgboost/core.py."""
    import numpy as np

    class Booster:
        def __getstate__(self):
            return {"handle": bytearray(b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{}}")}

    class XGBClassifier:
        pass

    fake_modules({"xgboost": {}, "xgboost.core": {"Booster": Booster}})
    fake_modules({"xgboost.sklearn": {"XGBClassifier": XGBClassifier}})
    wrapper = XGBClassifier()
    wrapper.__dict__.update(
        n_estimators=10, max_depth=3, _Booster=Booster(), classes_=np.array([0, 1]), n_classes_=2
    )
    return pickle.dumps(wrapper, protocol=pickle.HIGHEST_PROTOCOL)


def torch_save_zip(fake_modules) -> bytes:
    """The torch.save zip format, written by hand (torch is not installed: too large for
    CI): archive/data.pkl, protocol 2, an OrderedDict state dict of tensors rebuilt by
    torch._utils._rebuild_tensor_v2 from a persistent id ('storage', torch.FloatStorage,
    key, location, numel); the storage's raw bytes in archive/data/0; archive/version."""

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    fake_modules({"torch": {"FloatStorage": FloatStorage}})
    fake_modules({"torch._utils": {"_rebuild_tensor_v2": _rebuild_tensor_v2}})

    class Storage:
        pass

    storage = Storage()

    class TorchPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is storage:
                return ("storage", FloatStorage, "0", "cpu", 4)
            return None

    state = OrderedDict(
        weight=_Gadget(_rebuild_tensor_v2, storage, 0, (2, 2), (2, 1), False, OrderedDict())
    )
    out = io.BytesIO()
    TorchPickler(out, protocol=2).dump(state)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", out.getvalue())
        archive.writestr("archive/byteorder", b"little")
        archive.writestr("archive/data/0", b"\x00\x00\x80?" * 4)  # four float32 1.0
        archive.writestr("archive/version", b"3\n")
        archive.writestr("archive/.data/serialization_id", b"1234567890")
    return data.getvalue()


def test_xgboost_and_pytorch_files_scan_clean(
    client, model, fake_modules, django_capture_on_commit_callbacks
):
    files = {
        "xgb.pkl": xgboost_pickle(fake_modules),
        "model.pt": torch_save_zip(fake_modules),
        "model.json": b'{"learner": {"attributes": {}}, "version": [2, 1, 0]}',  # native
        "model.ubj": b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{}}",  # native UBJSON
    }
    version = upload(client, model, files, django_capture_on_commit_callbacks)

    assert statuses(version) == {
        "xgb.pkl": "clean",
        "model.pt": "clean",
        "model.json": "not_applicable",
        "model.ubj": "not_applicable",
    }
    assert scan_gate(version).passed


def test_a_torch_zip_with_a_hostile_data_pkl_is_flagged(
    client, model, django_capture_on_commit_callbacks
):
    version = upload(
        client,
        model,
        {"model.pt": _zip({"archive/data.pkl": b"\x80\x02" + OS_SYSTEM})},
        django_capture_on_commit_callbacks,
    )
    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED
    assert artifact.scan_findings[0]["member"] == "archive/data.pkl"


# --- Bombs and broken files: a fast "error" ----------------------------------------------


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _bomb_chunk() -> bytes:
    """1 MiB of a pickle that never ends: BINBYTES of 1 MiB, then POP; again and again."""
    return b"B" + (1 << 20).to_bytes(4, "little") + bytes(1 << 20) + b"0"


def test_a_gzip_bomb_is_a_fast_error(client, model, django_capture_on_commit_callbacks):
    """1 MB on disk, 2 GiB unpacked (gzip members of a never-ending pickle, back to back):
    stopped at the unpacked-bytes limit (512 MiB by default), in seconds."""
    member = gzip.compress(b"\x80\x04" + _bomb_chunk() * 64, compresslevel=9)
    bomb = member * 32
    assert len(bomb) < 8 * 1024 * 1024

    started = time.monotonic()
    version = upload(client, model, {"model.pkl.gz": bomb}, django_capture_on_commit_callbacks)
    elapsed = time.monotonic() - started

    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.ERROR
    assert "unpacked" in artifact.scan_findings[0]["error"]
    assert elapsed < 30
    assert not scan_gate(version).passed


def test_a_zip_bomb_is_a_fast_error(settings, client, model, django_capture_on_commit_callbacks):
    settings.ATTEST_SCAN_MAX_BYTES = 16 * 1024 * 1024  # a small budget keeps the test quick
    bomb = _zip({"archive/data.pkl": b"\x80\x02" + _bomb_chunk() * 64})

    started = time.monotonic()
    version = upload(client, model, {"model.pt": bomb}, django_capture_on_commit_callbacks)

    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.ERROR
    assert artifact.scan_findings[0]["member"] == "archive/data.pkl"
    assert time.monotonic() - started < 20


def test_too_many_members_and_too_deep_are_errors(
    settings, client, model, django_capture_on_commit_callbacks
):
    settings.ATTEST_SCAN_MAX_MEMBERS = 50
    many = _zip({f"m{i}.txt": b"x" for i in range(60)}, method=zipfile.ZIP_STORED)
    deep = OS_SYSTEM
    for _ in range(6):
        deep = gzip.compress(deep)
    version = upload(
        client, model, {"many.zip": many, "deep.gz": deep}, django_capture_on_commit_callbacks
    )
    got = {a.path: a for a in version.artifacts.all()}
    assert got["many.zip"].scan_status == "error"
    assert "members" in got["many.zip"].scan_findings[0]["error"]
    assert got["deep.gz"].scan_status == "error"
    assert "nested" in got["deep.gz"].scan_findings[-1]["error"]


def test_a_truncated_pickle_or_corrupt_gzip_is_an_error(
    client, model, django_capture_on_commit_callbacks
):
    benign = pickle.dumps({"weights": list(range(100))}, protocol=4)
    version = upload(
        client,
        model,
        {"cut.pkl": benign[:-20], "bad.gz": gzip.compress(benign)[:-30]},
        django_capture_on_commit_callbacks,
    )
    assert statuses(version) == {"cut.pkl": "error", "bad.gz": "error"}
    assert not scan_gate(version).passed


# --- What people see ----------------------------------------------------------------------


def test_the_panel_never_shows_green_beside_a_finding(
    client, model, django_capture_on_commit_callbacks
):
    version = upload(
        client,
        model,
        {"evil.pkl": OS_SYSTEM, "config.json": b"{}"},
        django_capture_on_commit_callbacks,
    )
    panel = client.get(reverse("registry:artifact-panel", args=[model.name, version.version]))
    html = panel.content.decode()
    assert "Pickle scan · Flagged" in html
    assert "badge-ok" not in html
    assert html.count(" download>") == 1  # config.json only; evil.pkl leads to a confirmation
    job = Job.objects.get(model_version_id=version.pk)
    assert job.status == Job.Status.SUCCEEDED and job.outcome == "flagged"


def test_a_legacy_clean_verdict_with_findings_is_not_shown_clean_and_blocks(
    client, model, version, django_capture_on_commit_callbacks
):
    """Rows an older scanner left as "clean" while listing a suspicious global."""
    version.artifacts.update(
        scan_status="clean",
        scan_findings=[{"module": "code", "name": "InteractiveConsole.push", "safety": "x"}],
    )
    html = client.get(
        reverse("registry:artifact-panel", args=[model.name, version.version])
    ).content.decode()
    assert "Re-scan needed" in html and ">Clean<" not in html
    assert "Download…" in html and " download>" not in html  # leads to the confirmation
    gate = scan_gate(version)
    assert not gate.passed and "re-scan" in gate.reason


# --- Downloading a flagged artifact -------------------------------------------------------


@pytest.fixture
def flagged(client, model, django_capture_on_commit_callbacks):
    version = upload(client, model, {"evil.pkl": OS_SYSTEM}, django_capture_on_commit_callbacks)
    artifact = version.artifacts.get()
    assert artifact.scan_status == "flagged"
    return artifact


def download_url(artifact):
    version = artifact.model_version
    return reverse(
        "registry:artifact-download",
        args=[version.registered_model.name, version.version, artifact.pk],
    )


def test_a_flagged_download_asks_for_confirmation_first(client, flagged, audit_count):
    before = audit_count()
    page = client.get(download_url(flagged))
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "<code>os.system</code>" in page.content.decode()
    assert 'name="confirm"' in page.content.decode()

    unticked = client.post(download_url(flagged), {})
    assert unticked.status_code == 400
    assert "Tick the box" in unticked.content.decode()
    assert audit_count() == before

    ticked = client.post(download_url(flagged), {"confirm": "yes"})
    assert ticked.status_code == 200
    assert b"".join(ticked.streaming_content) == OS_SYSTEM
    assert audit_count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "artifact.download_flagged"
    assert event.after["scan_status"] == "flagged"
    assert event.after["scan_findings"][0]["name"] == "system"


def test_a_clean_download_needs_no_confirmation(client, model, django_capture_on_commit_callbacks):
    version = upload(
        client, model, {"m.pkl": pickle.dumps({"a": 1})}, django_capture_on_commit_callbacks
    )
    artifact = version.artifacts.get()
    response = client.get(download_url(artifact))
    assert response.status_code == 200
    assert AuditEvent.objects.latest("id").action == "artifact.download"


def test_out_of_scope_users_still_get_404_for_a_flagged_artifact(other_scientist, flagged):
    other = client_for(other_scientist)
    assert other.get(download_url(flagged)).status_code == 404
    assert other.post(download_url(flagged), {"confirm": "yes"}).status_code == 404


def test_the_mlflow_api_refuses_a_flagged_artifact(client, scientist, flagged, audit_count):
    from governance.services.tokens import token_create

    raw = token_create(actor=scientist, name="t", scope="write")[1]
    before = audit_count()
    path = f"/api/2.0/mlflow-artifacts/artifacts/versions/{flagged.model_version_id}/evil.pkl"
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403
    body = response.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert "flagged by the pickle scan" in body["message"]
    assert audit_count() == before


# --- The MLflow route: artifact proxy, then model-versions/create -------------------------


def test_the_mlflow_route_flags_the_red_team_files(
    client, scientist, model, django_capture_on_commit_callbacks
):
    """What `mlflow.sklearn.log_model` + `register_model` do: PUT the files through the
    artifact proxy under a run, then create the version from runs:/<id>/model."""
    from governance.services.tokens import token_create

    raw = token_create(actor=scientist, name="t", scope="write")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    run = client.post(
        "/api/2.0/mlflow/runs/create",
        {"experiment_id": "0"},
        content_type="application/json",
        **auth,
    ).json()["run"]["info"]["run_id"]
    files = {
        "MLmodel": MLMODEL,
        "model.weights": OS_SYSTEM,
        "extra/model.pkl": console_push_pickle(),
        "extra/model.pkl.gz": gzip.compress(OS_SYSTEM),
        "conda.yaml": b"name: env\ndependencies: [python=3.11]\n",
    }
    for path, content in files.items():
        response = client.put(
            f"/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/model/{path}",
            content,
            content_type="application/octet-stream",
            **auth,
        )
        assert response.status_code == 200, response.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/2.0/mlflow/model-versions/create",
            {"name": model.name, "source": f"runs:/{run}/model", "run_id": run},
            content_type="application/json",
            **auth,
        )
    assert response.status_code == 200, response.content
    version = ModelVersion.objects.get(registered_model=model)
    assert statuses(version) == {
        "MLmodel": "not_applicable",
        "conda.yaml": "not_applicable",
        "model.weights": "flagged",
        "extra/model.pkl": "flagged",
        "extra/model.pkl.gz": "flagged",
    }
    classify(model)
    with pytest.raises(ValidationError, match="Artifacts scanned clean"):
        transition_request_open(
            actor=scientist, version=version, target_stage="Staging", justification="ship it"
        )


# --- Rows an older scanner left behind ----------------------------------------------------


def test_rescan_artifacts_re_reads_every_file_and_is_audited(
    client, model, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    version = upload(
        client,
        model,
        {"model.weights": OS_SYSTEM, "model.pkl": console_push_pickle(), "a.json": b"{}"},
        django_capture_on_commit_callbacks,
    )
    # What the old scanner recorded for the red team's files.
    version.artifacts.filter(path="model.weights").update(
        scan_status="not_applicable", scan_findings=[]
    )
    version.artifacts.filter(path="model.pkl").update(
        scan_status="clean",
        scan_findings=[{"module": "code", "name": "InteractiveConsole.push", "safety": "x"}],
    )
    last = AuditEvent.objects.latest("id").pk

    with django_capture_on_commit_callbacks(execute=True):
        call_command("rescan_artifacts", "--model", model.name, stdout=io.StringIO())

    assert statuses(version) == {
        "model.weights": "flagged",
        "model.pkl": "flagged",
        "a.json": "not_applicable",
    }
    actions = list(
        AuditEvent.objects.filter(pk__gt=last)
        .order_by("id")
        .values_list("action", "actor_username")
    )
    assert actions == [
        ("version.rescan", "cli:rescan_artifacts"),
        ("artifact.scan", "system:scanner"),
        ("artifact.scan", "system:scanner"),
    ]


def test_a_long_harmless_prefix_does_not_hide_the_import_from_the_upload_check(
    client, model, django_capture_on_commit_callbacks
):
    """The upload looks at the first 64 KiB only: opcodes that run on past them, or a bytes
    value longer than them, still mark the file for the full scan."""
    padded = b"N0" * 50_000 + OS_SYSTEM
    big_bytes = b"\x80\x04B" + (100_000).to_bytes(4, "little") + bytes(100_000) + b"0" + OS_SYSTEM
    version = upload(
        client,
        model,
        {"weights.dat1": padded, "weights.dat2": big_bytes},
        django_capture_on_commit_callbacks,
    )
    assert statuses(version) == {"weights.dat1": "flagged", "weights.dat2": "flagged"}


def test_a_text_file_that_ends_as_a_zip_is_scanned(
    client, model, django_capture_on_commit_callbacks
):
    """zipfile finds an archive by its end record: text first, a hostile zip after."""
    polyglot = b"# Model notes\n" * 10_000 + _zip({"archive/data.pkl": b"\x80\x02" + OS_SYSTEM})
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    version = upload(client, model, {"NOTES.md": polyglot}, django_capture_on_commit_callbacks)
    assert statuses(version) == {"NOTES.md": "flagged"}
