"""Edge cases of "upload a new version through a form", driven through the real view.

Every failure must leave nothing behind: no version, no rows, no stored file, no spooled
upload, no audit event. Every success writes exactly one "version.create" event whose
snapshot carries the hashes of the bytes that were sent.
"""

import hashlib
import html
import io
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.urls import reverse

from governance.models import AuditEvent
from registry import storage
from registry.models import Artifact, Metric, ModelVersion, Param
from registry.services import version_create
from registry.services.versions import UploadFile, VersionInput
from tests.conftest import client_for
from tests.factories import make_model
from tests.registry.conftest import (
    CONTENT_TYPE,
    NOTHING,
    encode_multipart,
    management,
    post_upload,
    row_counts,
    stored_files,
    upload_url,
)

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp")


# --- helpers -----------------------------------------------------------------------------


def page(response) -> str:
    return html.unescape(response.content.decode())


def field_errors(response, field: str) -> list[str]:
    """The error texts the form shows under one field (by its html name)."""
    match = re.search(
        rf'<div class="field-errors"[^>]* data-field="{re.escape(field)}"[^>]*>(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no error block for {field}"
    return [html.unescape(e) for e in re.findall(r'<p class="error">(.*?)</p>', match.group(1))]


def form_errors(response) -> list[str]:
    """The errors shown at the top of the form (not tied to one field)."""
    match = re.search(r'<div class="form-errors"(.*?)<section', page_raw(response), re.S)
    assert match, "no form-errors block"
    return [html.unescape(e) for e in re.findall(r"<p>(.*?)</p>", match.group(1), re.S)]


def page_raw(response) -> str:
    return response.content.decode()


def assert_no_version_folders(artifact_root):
    """A failed upload leaves no (empty) folder for the version it did not create."""
    assert list(artifact_root.glob("artifacts/*/*")) == []


def assert_nothing_kept(model, artifact_root, upload_tmp, audit_count):
    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert list(upload_tmp.iterdir()) == [], "a spooled upload was left behind"
    assert audit_count() == 0


@pytest.fixture
def client(scientist):
    return client_for(scientist)


@pytest.fixture
def quiet_client(scientist):
    """Answers with the response a server would send instead of raising the view's error."""
    client = client_for(scientist)
    client.raise_request_exception = False
    return client


@pytest.fixture
def viewer_client(viewer):
    client = client_for(viewer)
    client.raise_request_exception = False
    return client


# --- empty files -------------------------------------------------------------------------


def test_empty_file_is_a_field_error(client, model, artifact_root, upload_tmp, audit_count):
    response = post_upload(client, model, files=[("empty.bin", b"")])

    assert response.status_code == 400
    assert field_errors(response, "files") == ["empty.bin is empty."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_empty_file_next_to_a_good_one_keeps_nothing(
    client, model, artifact_root, upload_tmp, audit_count
):
    response = post_upload(client, model, files=[("model.json", b'{"w": 1}'), ("notes.txt", b"")])

    assert response.status_code == 400
    assert field_errors(response, "files") == ["notes.txt is empty."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_no_file_at_all_is_a_field_error(client, model, artifact_root, upload_tmp, audit_count):
    response = post_upload(client, model, files=[], fields={"run_id": "run-1"})

    assert response.status_code == 400
    assert field_errors(response, "files") == ["Add at least one artifact file."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_service_refuses_an_empty_stream_and_deletes_what_it_stored(
    scientist, model, artifact_root, audit_count
):
    data = VersionInput(
        files=[
            UploadFile(io.BytesIO(b"first"), "first.bin"),
            UploadFile(io.BytesIO(b""), "second.bin"),
        ]
    )
    with pytest.raises(storage.ArtifactError, match="second.bin is empty"):
        version_create(actor=scientist, registered_model=model, data=data)

    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert audit_count() == 0


# --- the size limit ----------------------------------------------------------------------


def test_oversize_file_is_stopped_by_the_upload_handler(
    client, model, settings, artifact_root, upload_tmp, audit_count
):
    settings.ARTIFACT_MAX_BYTES = 1000
    response = post_upload(
        client, model, files=[("small.json", b"{}" * 50), ("big.bin", b"x" * 5000)]
    )

    assert response.status_code == 400
    assert field_errors(response, "files") == [
        "big.bin: larger than the 1000 bytes limit for one file."
    ]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_file_of_exactly_the_limit_is_accepted(client, model, settings, artifact_root):
    settings.ARTIFACT_MAX_BYTES = 1000
    response = post_upload(client, model, files=[("exact.bin", b"x" * 1000)])

    assert response.status_code == 302
    artifact = Artifact.objects.get(model_version__registered_model=model)
    assert artifact.size == 1000
    assert len(stored_files(artifact_root)) == 1


def test_service_limit_applies_when_the_handler_does_not(
    client, model, settings, artifact_root, upload_tmp, audit_count
):
    """Defence in depth: with Django's plain handler the service still stops the file."""
    settings.FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
    settings.ARTIFACT_MAX_BYTES = 1000
    response = post_upload(client, model, files=[("small.json", b"{}"), ("big.bin", b"x" * 5000)])

    assert response.status_code == 400
    assert field_errors(response, "files") == ["big.bin is larger than the 1000 bytes limit."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_store_stream_raises_too_large_and_keeps_nothing(settings, artifact_root):
    settings.ARTIFACT_MAX_BYTES = 10 * 1024
    stream = io.BytesIO(b"y" * (10 * 1024 + 1))
    with pytest.raises(storage.ArtifactTooLarge) as caught:
        storage.store_stream(stream, prefix="artifacts/1/abc", path="weights.bin")

    assert str(caught.value) == "weights.bin is larger than the 10.0 KB limit."
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)


def test_store_stream_accepts_exactly_the_limit(settings, artifact_root):
    settings.ARTIFACT_MAX_BYTES = 4096
    payload = bytes(range(256)) * 16
    stored = storage.store_stream(io.BytesIO(payload), prefix="artifacts/1/abc", path="w.bin")

    assert (stored.size, stored.sha256) == (4096, hashlib.sha256(payload).hexdigest())
    assert stored_files(artifact_root) == ["artifacts/1/abc/w.bin"]


def test_version_create_over_the_limit_deletes_files_already_stored(
    scientist, model, settings, artifact_root, audit_count
):
    settings.ARTIFACT_MAX_BYTES = 100
    data = VersionInput(
        files=[
            UploadFile(io.BytesIO(b"a" * 50), "ok.bin"),
            UploadFile(io.BytesIO(b"b" * 500), "big.bin"),
        ]
    )
    with pytest.raises(storage.ArtifactTooLarge, match="big.bin"):
        version_create(actor=scientist, registered_model=model, data=data)

    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert audit_count() == 0


# --- interrupted uploads -----------------------------------------------------------------


def _full_body(files_first=True):
    data = management() | {
        "run_id": "run-77",
        "dataset_name": "transactions",
        "metrics-0-name": "auc",
        "metrics-0-value": "0.91",
    }
    files = [("model.json", b'{"w": [1, 2, 3]}'), ("weights.bin", b"w" * 300_000)]
    return encode_multipart(data, files, files_first=files_first)


def _post_truncated(client, model, body: bytes, cut: int):
    """The client announced `len(body)` bytes but the connection ended after `cut`."""
    return _post_raw(client, model, io.BytesIO(body[:cut]), len(body))


def _post_raw(client, model, wsgi_input, content_length: int):
    """A request whose body comes from `wsgi_input` (RequestFactory only builds its own
    input, and its headers, when given the body itself)."""
    return client.generic(
        "POST",
        upload_url(model),
        CONTENT_TYPE=CONTENT_TYPE,
        CONTENT_LENGTH=str(content_length),
        **{"wsgi.input": wsgi_input},
    )


@pytest.mark.parametrize("files_first", [True, False], ids=["files-first", "fields-first"])
def test_body_cut_off_inside_a_file_keeps_nothing(
    quiet_client, model, artifact_root, upload_tmp, audit_count, files_first
):
    """Fields first (as curl -F may send them): the first file is whole, the second is
    cut; Django quietly drops the cut file, which must not become a one-file version."""
    client = quiet_client
    body = _full_body(files_first)
    cut = body.index(b"w" * 1000) + 150_000  # halfway through weights.bin

    response = _post_truncated(client, model, body, cut)

    assert response.status_code == 400
    assert "Traceback" not in page(response)
    assert any("interrupted" in e for e in form_errors(response))
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_body_cut_off_after_the_files_keeps_nothing(
    quiet_client, model, artifact_root, upload_tmp, audit_count
):
    """Both files arrived whole, the form fields after them did not: storing a version
    without its lineage and metrics would record something the user never sent."""
    client = quiet_client
    body = _full_body()
    cut = body.index(b'name="run_id"') - 20  # management form sent, lineage and metrics not

    response = _post_truncated(client, model, body, cut)

    assert response.status_code == 400
    assert any("interrupted" in e for e in form_errors(response))
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


class _DisconnectingInput:
    """A wsgi.input whose client goes away after `after` bytes."""

    def __init__(self, data: bytes, after: int):
        self._stream = io.BytesIO(data[:after])

    def read(self, size=-1):
        data = self._stream.read(size)
        if not data:
            raise ConnectionResetError(104, "Connection reset by peer")
        return data

    def readline(self, size=-1):
        return self._stream.readline(size)


def test_client_disconnect_mid_body_is_not_a_server_error(
    quiet_client, model, artifact_root, upload_tmp, audit_count
):
    client = quiet_client
    body = _full_body()
    cut = body.index(b"w" * 1000) + 100_000

    response = _post_raw(client, model, _DisconnectingInput(body, cut), len(body))

    assert response.status_code == 400
    assert "Traceback" not in page(response)
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_the_full_body_of_the_same_request_is_accepted(model, scientist, artifact_root):
    """The control for the interrupted cases: the very same body, delivered whole."""
    client = client_for(scientist)
    body = _full_body()
    response = _post_raw(client, model, io.BytesIO(body), len(body))

    assert response.status_code == 302, form_errors(response)
    version = ModelVersion.objects.get(registered_model=model)
    assert (version.run_id, version.dataset_name) == ("run-77", "transactions")
    assert sorted(a.path for a in version.artifacts.all()) == ["model.json", "weights.bin"]
    assert len(stored_files(artifact_root)) == 2


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


# --- storage failures --------------------------------------------------------------------


def test_storage_failure_on_the_second_file_keeps_nothing(
    client, model, artifact_root, upload_tmp, audit_count, monkeypatch
):
    real_save = FileSystemStorage._save
    calls = []

    def failing_save(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError(13, "Permission denied", "/srv/secret/location/" + name)
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_save)
    response = post_upload(
        client, model, files=[("first.json", b'{"a": 1}'), ("second.bin", b"\x00" * 2048)]
    )

    assert len(calls) == 2, "the fault was not reached"
    assert response.status_code == 400
    errors = form_errors(response)
    assert errors == ["Storing second.bin failed. Nothing was saved; please try again."]
    assert "/srv/secret" not in page(response), "a server path leaked to the user"
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_database_failure_after_storing_deletes_the_files(
    scientist, model, artifact_root, audit_count, monkeypatch
):
    def broken_record(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("registry.services.versions.audit.record", broken_record)
    data = VersionInput(
        files=[UploadFile(io.BytesIO(b"a"), "a.bin"), UploadFile(io.BytesIO(b"b"), "b.bin")]
    )
    with pytest.raises(RuntimeError):
        version_create(actor=scientist, registered_model=model, data=data)

    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert audit_count() == 0


# --- the form keeps what the user typed --------------------------------------------------


def test_form_keeps_the_users_input_on_error(client, model, audit_count):
    fields = {
        "metrics-TOTAL_FORMS": "4",
        "metrics-0-name": "auc",
        "metrics-0-value": "0.93",
        "metrics-0-dataset": "holdout-2024",
        "metrics-1-name": "recall",  # no value: the error
        "metrics-1-value": "",
        "params-0-key": "learning_rate",
        "params-0-value": "0.05",
        "params-1-key": "max_depth",
        "params-1-value": "7",
        "run_id": "run-2024-11-03",
        "run_link": "https://mlflow.example.com/runs/abc",
        "code_repository": "git@example.com:risk/fraud.git",
        "code_commit": "0f3c9a1d",
        "dataset_name": "card-transactions",
        "dataset_version": "2024-10",
        "dataset_uri": "s3://data/card-transactions/2024-10",
        "dataset_hash": "sha256:feedface",
        "framework": "xgboost",
        "framework_version": "2.1.1",
        "description": "Retrained on <October> data",
        "tags": "team=fraud, pii",
    }
    response = post_upload(client, model, files=[("model.json", b"{}")], fields=fields)

    assert response.status_code == 400
    assert field_errors(response, "metrics-1-value") == ["Enter the metric's value."]
    raw = page_raw(response)
    for name, value in fields.items():
        if name.endswith("TOTAL_FORMS") or name == "metrics-1-value":
            continue
        escaped = html.escape(value)
        if name == "description":
            assert f">\n{escaped}</textarea>" in raw, name
        else:
            assert re.search(rf'name="{name}" value="{re.escape(escaped)}"', raw), name
    assert 'name="metrics-TOTAL_FORMS" value="4"' in raw
    assert row_counts(model) == NOTHING
    assert audit_count() == 0


# --- parameters --------------------------------------------------------------------------


def _params(model) -> dict:
    return dict(
        Param.objects.filter(model_version__registered_model=model).values_list("key", "value")
    )


def test_params_from_a_json_file(client, model):
    payload = b'{"lr": 0.01, "layers": [64, 32], "optimizer": "adam", "early_stop": true}'
    response = post_upload(
        client, model, files=[("m.json", b"{}")], params_file=("params.json", payload)
    )

    assert response.status_code == 302
    assert _params(model) == {
        "lr": "0.01",
        "layers": "[64, 32]",
        "optimizer": "adam",
        "early_stop": "true",
    }


@pytest.mark.parametrize(
    "text",
    [
        "key,value\nlr,0.1\nepochs,10\n",
        "lr,0.1\nepochs,10\n",
        "\ufeffKey,Value\r\nlr,0.1\r\n\r\nepochs,10\r\n",  # Excel: BOM, CRLF, a blank line
    ],
    ids=["header", "no-header", "excel"],
)
def test_params_from_a_csv_file(client, model, text):
    response = post_upload(
        client,
        model,
        files=[("m.json", b"{}")],
        params_file=("params.csv", text.encode("utf-8")),
    )

    assert response.status_code == 302, field_errors(response, "params_file")
    assert _params(model) == {"lr": "0.1", "epochs": "10"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("params.json", b'{"lr": 0.1,}', "The parameters file is not valid JSON"),
        ("params.json", b"[1, 2, 3]", "must hold one object"),
        ("params.json", b'"just a string"', "must hold one object"),
        ("params.txt", b"[1, 2, 3]", "must hold one object"),
        ("params.csv", b"lr,0.1\nepochs\n", "Line 2 of the parameters file needs key,value."),
        ("params.csv", b"lr,0.1\n,5\n", "Line 2 of the parameters file has no key."),
        ("params.json", b'{"": "x"}', "has no key"),
        ("params.json", b'{"%s": 1}' % (b"k" * 251), "longer than 250 characters"),
        ("params.json", b'{"k": "%s"}' % (b"v" * 6001), "longer than 6000 characters"),
        ("params.csv", b"lr,\xff\xfe", "not UTF-8 text"),
    ],
)
def test_bad_params_files_are_field_errors(
    client, model, artifact_root, upload_tmp, audit_count, name, content, message
):
    response = post_upload(client, model, files=[("m.json", b"{}")], params_file=(name, content))

    assert response.status_code == 400
    errors = field_errors(response, "params_file")
    assert len(errors) == 1 and message in errors[0], errors
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_row_that_contradicts_the_params_file_is_refused(
    client, model, artifact_root, upload_tmp, audit_count
):
    response = post_upload(
        client,
        model,
        files=[("m.json", b"{}")],
        fields={"params-0-key": "lr", "params-0-value": "0.2"},
        params_file=("params.json", b'{"lr": "0.1", "epochs": 5}'),
    )

    assert response.status_code == 400
    assert field_errors(response, "params-0-key") == [
        "lr is also in the parameters file with another value."
    ]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_row_that_repeats_the_params_file_is_fine(client, model):
    response = post_upload(
        client,
        model,
        files=[("m.json", b"{}")],
        fields={"params-0-key": "lr", "params-0-value": "0.1"},
        params_file=("params.json", b'{"lr": "0.1", "epochs": 5}'),
    )

    assert response.status_code == 302
    assert _params(model) == {"lr": "0.1", "epochs": "5"}


def test_two_rows_with_the_same_key_and_different_values_are_refused(
    client, model, artifact_root, upload_tmp, audit_count
):
    response = post_upload(
        client,
        model,
        files=[("m.json", b"{}")],
        fields={
            "params-0-key": "lr",
            "params-0-value": "0.1",
            "params-1-key": "lr",
            "params-1-value": "0.2",
        },
    )

    assert response.status_code == 400
    assert field_errors(response, "params-1-key") == ["lr is given twice with different values."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_param_value_without_a_key_is_refused(client, model, audit_count):
    response = post_upload(
        client, model, files=[("m.json", b"{}")], fields={"params-0-value": "0.1"}
    )

    assert response.status_code == 400
    assert field_errors(response, "params-0-key") == ["Name this parameter."]
    assert row_counts(model) == NOTHING


# --- metrics -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"name": "auc", "value": ""}, "value", "Enter the metric's value."),
        ({"name": "", "value": "0.9"}, "name", "Name this metric."),
        ({"name": "auc", "value": "high"}, "value", "Enter a number."),
        ({"name": "auc", "value": "nan"}, "value", "Enter a number."),
        ({"name": "auc", "value": "inf"}, "value", "Enter a number."),
    ],
)
def test_bad_metric_rows_are_field_errors(
    client, model, artifact_root, upload_tmp, audit_count, row, field, message
):
    fields = {f"metrics-0-{k}": v for k, v in row.items()}
    response = post_upload(client, model, files=[("m.json", b"{}")], fields=fields)

    assert response.status_code == 400
    assert field_errors(response, f"metrics-0-{field}") == [message]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_the_same_metric_twice_for_one_dataset_is_refused(
    client, model, artifact_root, upload_tmp, audit_count
):
    fields = {
        "metrics-0-name": "auc",
        "metrics-0-value": "0.9",
        "metrics-0-dataset": "holdout",
        "metrics-1-name": "auc",
        "metrics-1-value": "0.8",
        "metrics-1-dataset": "holdout",
    }
    response = post_upload(client, model, files=[("m.json", b"{}")], fields=fields)

    assert response.status_code == 400
    assert "Metric auc is given twice for the same dataset." in form_errors(response)
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_the_same_metric_for_two_datasets_is_two_metrics(client, model):
    fields = {
        "metrics-0-name": "auc",
        "metrics-0-value": "0.9",
        "metrics-0-dataset": "holdout",
        "metrics-1-name": "auc",
        "metrics-1-value": "0.8",
        "metrics-1-dataset": "",
    }
    response = post_upload(client, model, files=[("m.json", b"{}")], fields=fields)

    assert response.status_code == 302
    got = Metric.objects.filter(model_version__registered_model=model)
    assert sorted(got.values_list("dataset", "value")) == [("", 0.8), ("holdout", 0.9)]


# --- what a successful upload records ----------------------------------------------------


def test_one_audit_event_with_the_hashes_of_the_bytes_sent(
    client, scientist, model, artifact_root, audit_count
):
    files = {"model.json": b'{"weights": [0.1, 0.2]}', "requirements.txt": b"xgboost==2.1.1\n"}
    response = post_upload(
        client,
        model,
        files=list(files.items()),
        fields={"metrics-0-name": "auc", "metrics-0-value": "0.9", "tags": "team=fraud"},
    )

    assert response.status_code == 302
    version = ModelVersion.objects.get(registered_model=model)
    assert response["Location"] == version.get_absolute_url()
    assert audit_count() == 1
    event = AuditEvent.objects.get(action="version.create", model_version_id=version.pk)
    assert event.actor == scientist
    assert event.registered_model_id == model.pk
    expected = [
        {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sorted(files.items())
    ]
    assert sorted(event.after["artifacts"], key=lambda a: a["path"]) == expected
    stored = {a.path: (a.size, a.sha256) for a in version.artifacts.all()}
    assert stored == {e["path"]: (e["size"], e["sha256"]) for e in expected}
    for artifact in version.artifacts.all():
        assert (artifact_root / artifact.storage_name).read_bytes() == files[artifact.path]


@pytest.fixture
def other_model(scientist, team):
    return make_model(scientist, name="churn-predictor", team=team)


def test_version_numbers_count_up_per_model(client, model, other_model, audit_count):
    other = other_model
    numbers = []
    for target in (model, model, other, model):
        response = post_upload(client, target, files=[("m.json", b"{}")])
        assert response.status_code == 302
        numbers.append((target.name, int(response["Location"].rstrip("/").rsplit("/", 1)[1])))

    assert numbers == [
        ("fraud-detector", 1),
        ("fraud-detector", 2),
        ("churn-predictor", 1),
        ("fraud-detector", 3),
    ]
    assert sorted(
        ModelVersion.objects.filter(registered_model=model).values_list("version", flat=True)
    ) == [1, 2, 3]
    assert audit_count() == 4
    assert AuditEvent.objects.filter(action="version.create").count() == 4


def test_a_multi_megabyte_file_is_hashed_and_measured_exactly(
    client, model, artifact_root, upload_tmp
):
    block = hashlib.sha256(b"seed").digest() * 1024  # 32 KB, not all one byte
    payload = block * 160 + b"tail"  # 5 MB and a bit
    assert len(payload) > django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    response = post_upload(client, model, files=[("model.bin", payload)])

    assert response.status_code == 302
    artifact = Artifact.objects.get(model_version__registered_model=model)
    assert artifact.size == len(payload)
    assert artifact.sha256 == hashlib.sha256(payload).hexdigest()
    assert (artifact_root / artifact.storage_name).read_bytes() == payload
    event = AuditEvent.objects.get(action="version.create")
    assert event.after["artifacts"] == [
        {"path": "model.bin", "size": len(payload), "sha256": artifact.sha256}
    ]
    assert list(upload_tmp.iterdir()) == [], "the spooled upload was not removed"


def test_an_upload_script_gets_201_and_where_to_go(client, model):
    response = post_upload(
        client, model, files=[("m.json", b"{}")], headers={"X-Requested-With": "XMLHttpRequest"}
    )

    assert response.status_code == 201
    version = ModelVersion.objects.get(registered_model=model)
    assert response["X-Redirect"] == version.get_absolute_url()


def test_read_only_user_is_refused_before_anything_is_stored(
    viewer_client, model, artifact_root, upload_tmp, audit_count
):
    response = post_upload(viewer_client, model, files=[("m.json", b"{}")])

    assert response.status_code == 403
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_service_validation_errors_reach_the_form(client, model, monkeypatch):
    """Errors the service raises (not the form) are shown, and the request is a 400."""

    def refuse(**kwargs):
        raise ValidationError(["First problem.", "Second problem."])

    monkeypatch.setattr("registry.views.versions.version_create", refuse)
    response = post_upload(client, model, files=[("m.json", b"{}")])

    assert response.status_code == 400
    assert form_errors(response) == ["First problem.", "Second problem."]
