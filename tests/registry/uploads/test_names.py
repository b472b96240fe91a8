"""Uploaded file names: duplicates and collisions refused, hostile names stored sanitised
inside the version's prefix, over-long paths refused.
"""

import io
import re
from pathlib import Path

import pytest
from django.urls import reverse

from registry import storage
from registry.models import Artifact
from registry.services import version_create
from registry.services.versions import UploadFile, VersionInput
from tests.registry.conftest import post_upload, stored_files
from tests.registry.uploads.helpers import assert_nothing_kept, field_errors, form_errors

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp")


# --- file names --------------------------------------------------------------------------


def test_duplicate_file_names_are_refused(client, model, artifact_root, upload_tmp, audit_count):
    response = post_upload(client, model, files=[("model.pkl", b"one"), ("model.pkl", b"two")])

    assert response.status_code == 400
    assert "Two files are named model.pkl; file names within a version must be unique." in (
        form_errors(response)
    )
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


@pytest.mark.parametrize(
    "names",
    [
        ("train/model.json", "eval/model.json"),  # folders are dropped on a form upload
        ("my model.json", "my_model.json"),  # the same once sanitised
    ],
)
def test_names_that_collide_once_sanitised_are_refused(
    client, model, artifact_root, upload_tmp, audit_count, names
):
    response = post_upload(client, model, files=[(names[0], b"one"), (names[1], b"two")])

    assert response.status_code == 400
    assert any(e.startswith("Two files are named ") for e in form_errors(response))
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\win.ini", "win.ini"),
    ("/etc/shadow", "shadow"),
    ("evil\x00name.pkl", "evilname.pkl"),  # Django drops non-printable characters
    ("bell\x07\x1b[31m.txt", "bell_31m.txt"),
    (".htaccess", "htaccess"),
    ("<script>alert(1)</script>.html", "script.html"),  # Django keeps what follows "/"
    ("a" * 300 + ".pkl", "a" * 116 + ".pkl"),  # shortened, extension kept
    ("$$$", "artifact"),  # nothing usable left: a neutral name
    ("模型.pkl", "artifact.pkl"),
    ("  spaced name .json", "spaced_name.json"),
]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE_NAMES)
def test_hostile_names_are_stored_sanitised_inside_the_version_prefix(
    client, model, artifact_root, raw, expected
):
    content = f"content of {expected}".encode()
    response = post_upload(client, model, files=[(raw, content)])

    assert response.status_code == 302, (form_errors(response), field_errors(response, "files"))
    artifact = Artifact.objects.get(model_version__registered_model=model)
    assert artifact.path == expected
    assert re.fullmatch(
        rf"artifacts/{model.pk}/[0-9a-f]{{32}}/{re.escape(expected)}", artifact.storage_name
    )
    on_disk = (artifact_root / artifact.storage_name).resolve()
    assert on_disk.is_relative_to(artifact_root.resolve())
    assert on_disk.read_bytes() == content
    assert stored_files(artifact_root) == [artifact.storage_name]

    download = client.get(reverse("registry:artifact-download", args=[model.name, 1, artifact.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == f'attachment; filename="{expected}"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == content


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("..\\..\\windows\\win.ini", "windows/win.ini"),
        ("/abs/model.pkl", "abs/model.pkl"),
        ("model/./../MLmodel", "model/MLmodel"),
        ("dir/evil\x00name.pkl", "dir/evil_name.pkl"),
        ("dir/\x1b\x07/model.pkl", "dir/model.pkl"),
        (".git/config", "git/config"),
        ("model/$$$", "model/artifact"),
        ("d/" + "b" * 400 + ".joblib", "d/" + "b" * 113 + ".joblib"),
    ],
)
def test_service_keeps_sub_folders_but_never_leaves_the_prefix(
    scientist, model, artifact_root, raw, expected
):
    """API uploads keep folders (an MLflow model is a directory); traversal still goes."""
    version = version_create(
        actor=scientist,
        registered_model=model,
        data=VersionInput(files=[UploadFile(io.BytesIO(b"data"), raw, keep_dirs=True)]),
    )
    artifact = version.artifacts.get()
    assert artifact.path == expected
    prefix = artifact.storage_name[: -len(expected)]
    assert re.fullmatch(rf"artifacts/{model.pk}/[0-9a-f]{{32}}/", prefix)
    on_disk = (artifact_root / artifact.storage_name).resolve()
    assert on_disk.is_relative_to((artifact_root / prefix).resolve())
    assert on_disk.read_bytes() == b"data"


@pytest.mark.parametrize("raw", ["", "/", "../..", "\\.\\"])
def test_a_name_with_no_file_part_is_refused(raw):
    with pytest.raises(storage.ArtifactError, match="not a usable file name"):
        storage.sanitize_path(raw)


@pytest.mark.parametrize("raw", [name for name, _ in HOSTILE_NAMES] + ["x/" * 200 + "y.pt"])
@pytest.mark.parametrize("keep_dirs", [False, True])
def test_sanitised_paths_are_relative_plain_and_short(raw, keep_dirs):
    path = storage.sanitize_path(raw, keep_dirs=keep_dirs)

    assert not path.startswith("/")
    assert len(path) <= storage.MAX_PATH
    for segment in path.split("/"):
        assert segment and not segment.startswith(".")
        assert len(segment) <= storage.MAX_SEGMENT
        assert re.fullmatch(r"[A-Za-z0-9._+=@-]+", segment)
    original_ext = Path(raw.replace("\\", "/")).suffix
    if original_ext in storage.PICKLE_EXTENSIONS:
        assert path.endswith(original_ext), "the extension decides whether a file is scanned"


def test_an_over_long_path_is_refused_not_cut(scientist, model, artifact_root):
    """Cutting a path would drop its extension, which decides whether it is scanned."""
    raw = "/".join(["folder"] * 80) + "/model.pkl"
    with pytest.raises(storage.ArtifactError, match="is longer than 500 characters"):
        storage.sanitize_path(raw, keep_dirs=True)
    assert storage.sanitize_path(raw, keep_dirs=False) == "model.pkl"
