"""Issue 13: ordinary models scan clean (scikit-learn, joblib, XGBoost, PyTorch zips), and a
hostile data.pkl inside a torch zip does not.
"""

import io
import pickle
import sys
import types
import zipfile
from collections import OrderedDict

import pytest

from registry.models import Artifact
from tests.registry.scanning.helpers import (
    OS_SYSTEM,
    Gadget,
    scan_gate,
    statuses,
    upload,
    zip_bytes,
)

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp", "scans_in_process")


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
        weight=Gadget(_rebuild_tensor_v2, storage, 0, (2, 2), (2, 1), False, OrderedDict())
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
        {"model.pt": zip_bytes({"archive/data.pkl": b"\x80\x02" + OS_SYSTEM})},
        django_capture_on_commit_callbacks,
    )
    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED
    assert artifact.scan_findings[0]["member"] == "archive/data.pkl"
