"""Issue 13, a pickle scan that cannot be fooled. Attacker: a governed user (a data scientist's
account and API token) who wants a pickle that runs code when loaded recorded as clean or
"not a pickle", and promoted. Here: the red team's files and the control, every container
opened by content, the allow-list.
"""

import bz2
import gzip
import lzma

import pytest
from django.core.exceptions import ValidationError

from governance.services import transition_request_open
from registry.models import Artifact
from tests.registry.scanning.helpers import (
    MLMODEL,
    OS_SYSTEM,
    RED_TEAM,
    classify,
    console_push_pickle,
    statuses,
    tar_bytes,
    upload,
    zip_bytes,
)

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp", "scans_in_process")


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
        ("bundle.tar", lambda b: tar_bytes({"inner/model.bin": b})),
        ("bundle.tgz", lambda b: gzip.compress(tar_bytes({"model.bin": b}))),
        ("nested.zip", lambda b: zip_bytes({"a.zip": zip_bytes({"deep/model.data": b})})),
        ("gz-in-zip.bin", lambda b: zip_bytes({"m.gz": gzip.compress(b)})),
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
