"""Hostile pickles (written opcode by opcode or with pickle.dumps, which never runs what it
writes; nothing here unpickles them), the red team's files, and helpers to upload and read
the verdicts.
"""

import gzip
import io
import pickle
import tarfile
import zipfile

from governance.policy import evaluate_gates
from governance.services import model_risk_class_set
from registry.models import ModelVersion
from tests.registry.conftest import post_upload

# GLOBAL os.system, MARK, STRING 'echo hi', TUPLE, REDUCE, STOP: protocol 0, no magic byte.
OS_SYSTEM = b"cos\nsystem\n(S'echo hi'\ntR."


class Gadget:
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
        Gadget(code.InteractiveConsole.push, code.InteractiveConsole(), "import os"),
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


def tar_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()
