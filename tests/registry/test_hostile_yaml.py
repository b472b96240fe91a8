"""Issue 14, hostile input: YAML cannot pin a worker or blow its memory.

Attacker: anyone who may import a model card (a README.md with front matter) or upload an
MLmodel file through the MLflow API. A 383-byte README with eight nested anchors under
`license:` took 31 s and 3.5 GB before its 400."""

import resource
import time
import tracemalloc
from types import SimpleNamespace

import pytest
import yaml
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from governance.models import AuditEvent
from registry import safe_yaml
from registry.cards import CardImportError, parse_hf_readme
from registry.services.tracking import _framework
from tests.conftest import client_for


def alias_bomb(levels: int = 8) -> str:
    lines = ["license:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnop"
    for i in range(1, levels + 1):
        prev, name = names[i - 1], names[i]
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BOMB_README = "---\n" + alias_bomb() + "---\n## Intended use\n\nScoring.\n"


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_bomb_is_the_one_from_the_report():
    assert len(BOMB_README.encode()) < 500
    assert BOMB_README.count("&") == 9


def test_alias_bomb_is_refused_quickly_and_small():
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(CardImportError, match="anchors"):
        parse_hf_readme(BOMB_README)
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1
    assert peak < 5 * 1024**2


@pytest.mark.django_db
def test_alias_bomb_through_the_import_form_is_a_quick_400(scientist, version):
    client = client_for(scientist)
    url = reverse("registry:card-import", args=[version.registered_model.name, version.version])
    assert client.get(url).status_code == 200  # warm up: imports, templates
    rss_before = _max_rss_mb()
    started = time.monotonic()
    response = client.post(url, {"readme": SimpleUploadedFile("README.md", BOMB_README.encode())})
    assert time.monotonic() - started < 1
    assert _max_rss_mb() - rss_before < 100
    assert response.status_code == 400
    page = response.content.decode()
    assert "anchors (&amp;a) are not accepted" in page
    assert not AuditEvent.objects.filter(action="card.import").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("x: *undefined\n", "aliases"),
        ("base: &b {a: 1}\nother:\n  <<: *b\n", "anchors"),
        ("deep: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32"),
        ("deep:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)), "nested more"),
        ("n: !!int " + "9" * 5000 + "\n", "cannot be read"),
        ("big: '" + "x" * (256 * 1024) + "'\n", "at most 262144 bytes"),
    ],
)
def test_unsafe_yaml_is_refused(text, message):
    started = time.monotonic()
    with pytest.raises(safe_yaml.UnsafeYamlError, match=message):
        safe_yaml.load(text)
    assert time.monotonic() - started < 1


def test_a_flood_of_brackets_is_refused_quickly():
    started = time.monotonic()
    with pytest.raises(yaml.YAMLError):
        safe_yaml.load("[" * (250 * 1024))
    assert time.monotonic() - started < 1


def test_ordinary_yaml_still_loads():
    text = "license: mit\nmodel-index:\n- name: x\n  results:\n  - metrics: [{type: auc}]\n"
    assert safe_yaml.load(text) == yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError):
        safe_yaml.load("!!python/object/apply:os.system ['true']\n")


@override_settings(ATTEST_YAML_MAX_BYTES=100, ATTEST_YAML_MAX_DEPTH=2)
def test_limits_are_settings():
    with pytest.raises(safe_yaml.UnsafeYamlError, match="at most 100 bytes"):
        safe_yaml.load("a: '" + "x" * 100 + "'")
    with pytest.raises(safe_yaml.UnsafeYamlError, match="nested more than 2"):
        safe_yaml.load("a: {b: {c: 1}}")
    assert safe_yaml.load("a: {b: 1}") == {"a": {"b": 1}}


@pytest.mark.django_db
def test_an_mlmodel_alias_bomb_only_costs_the_framework_column():
    """MLmodel files arrive through the MLflow artifact API; reading their flavour is
    best-effort and must not expand a bomb either."""
    bomb = "flavors:\n  sklearn: {sklearn_version: '1'}\n" + alias_bomb(12).replace(
        "license:", "extra:"
    )
    name = default_storage.save("hostile/MLmodel", ContentFile(bomb.encode()))
    staged = SimpleNamespace(path="m/MLmodel", size=len(bomb), storage_name=name)
    try:
        started = time.monotonic()
        assert _framework([staged], "m") == ("", "")
        assert time.monotonic() - started < 1
        good = "flavors:\n  sklearn: {sklearn_version: '1.5'}\n  python_function: {}\n"
        default_storage.delete(name)
        name = default_storage.save("hostile/MLmodel", ContentFile(good.encode()))
        staged.storage_name, staged.size = name, len(good)
        assert _framework([staged], "m") == ("sklearn", "1.5")
    finally:
        default_storage.delete(name)
