"""The allow-list and the opcode reader, attacked without the web stack.

Attacker: a governed user crafting pickle bytes to slip an import past the reader, or an
operator's typo widening the allow-list. Nothing here unpickles anything.
"""

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import pytest

from registry.pickle_allowlist import (
    DEFAULT_ALLOWED,
    NEVER,
    AllowListError,
    is_never,
    parse_rule,
    rules_for,
)
from registry.pickles import Limits, scan_stream


def verdict(data: bytes, extra=(), **kwargs):
    return scan_stream(
        io.BytesIO(data), rules=rules_for(tuple(extra)), limits=Limits(**kwargs), seekable=True
    )


def sg(module: str, name: str) -> bytes:
    """Protocol 4: SHORT_BINUNICODE module, SHORT_BINUNICODE name, STACK_GLOBAL."""
    out = b""
    for text in (module, name):
        raw = text.encode()
        out += b"\x8c" + bytes([len(raw)]) + raw
    return out + b"\x93"


CALL_EMPTY = b")R."  # EMPTY_TUPLE, REDUCE, STOP


@pytest.mark.parametrize(
    "entry",
    [
        "builtins.eval",
        "builtins.getattr",
        "builtins.__import__",
        "builtins.exec",
        "builtins.open",
        "builtins.*",
        "os.system",
        "os.*",
        "posix.system",
        "subprocess.Popen",
        "code.InteractiveConsole",
        "numpy.*",
        "numpy.load",
        "torch.load",
        "torch.**.*",
        "torch.storage._load_from_bytes",
        "sklearn.**.[A-Z]*",
        "joblib.load",
        "mylib.Popen",
    ],
)
def test_entries_that_would_let_code_run_are_refused(entry):
    with pytest.raises(AllowListError):
        parse_rule(entry)


@pytest.mark.parametrize("entry", ["x", "*", "a..b", "a.b c", "**.x", "a.b.", ".a.b", "a.*.b"])
def test_malformed_entries_are_refused(entry):
    with pytest.raises(AllowListError):
        parse_rule(entry)


def test_the_defaults_parse_and_never_allow_a_never_listed_global():
    rules = rules_for(())
    assert len(rules) == len(DEFAULT_ALLOWED)
    for module, name in NEVER:
        concrete = "system" if name == "*" else name
        assert is_never(module, concrete)
        assert verdict(sg(module, concrete) + CALL_EMPTY).status == "flagged", (module, name)


def test_a_bad_setting_stops_the_start_up():
    env = dict(os.environ, ATTEST_SCAN_ALLOWED_GLOBALS="mylib.models.Net,builtins.*")
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ATTEST_SCAN_ALLOWED_GLOBALS" in result.stderr and "builtins.eval" in result.stderr


@pytest.mark.parametrize(
    "module,name",
    [
        ("sklearn.utils._testing", "assert_run_python_script_without_output"),
        ("sklearn.datasets._base", "load_files"),
        ("sklearn.linear_model._logistic", "Popen"),  # a re-export would still be refused
        ("sklearn.linear_model._logistic", "LogisticRegression.fit"),  # a method by globs
        ("numpy", "load"),
        ("numpy.testing._private.utils", "runstring"),
        ("torch", "load"),
        ("torch.storage", "_load_from_bytes"),
        ("builtins", "getattr"),
        ("calendar", "Calendar"),
    ],
)
def test_dangerous_names_inside_allowed_packages_are_flagged(module, name):
    assert verdict(sg(module, name) + CALL_EMPTY).status == "flagged"


def test_allowed_globals_are_clean():
    for module, name in [
        ("collections", "OrderedDict"),
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("numpy._core.multiarray", "_reconstruct"),
    ]:
        assert verdict(b"\x80\x04" + sg(module, name) + CALL_EMPTY).status == "clean"


def test_names_fetched_from_the_memo_are_resolved():
    """ "builtins" and "getattr" are memoised and popped, then fetched back with BINGET for
    STACK_GLOBAL: the reader follows the memo as the unpickler does."""
    data = (
        b"\x80\x04\x8c\x08builtins\x940\x8c\x07getattr\x940"  # memo 0, memo 1, both popped
        b"h\x00h\x01\x93" + CALL_EMPTY
    )
    assert verdict(data).findings == [
        {"module": "builtins", "name": "getattr", "safety": "dangerous"}
    ]


def test_a_name_the_reader_cannot_resolve_is_flagged():
    # STACK_GLOBAL over a string too long to keep, and over a REDUCE result.
    long_name = b"X\x00\x04\x00\x00" + b"a" * 1024  # BINUNICODE of 1024 bytes
    data = b"\x80\x04" + long_name + b"\x8c\x06system\x93" + CALL_EMPTY
    result = verdict(data)
    assert result.status == "flagged"
    assert result.findings[0]["module"] == "?"


def test_inst_ext_and_non_ascii_globals_are_flagged():
    inst = b"(S'echo hi'\nios\nsystem\n."
    assert verdict(inst).findings[0]["name"] == "system"
    ext = b"\x80\x02\x82\x01)R."
    assert verdict(ext).status == "flagged"
    odd = "cmödule\nname\n)R.".encode()
    assert verdict(odd).status == "flagged"


def test_a_second_pickle_in_the_stream_is_read_too():
    first = pickle.dumps({"a": 1}, protocol=2)
    assert verdict(first + b"cos\nsystem\n(S'x'\ntR.").status == "flagged"
    # and one that imports before the junk that stops it
    assert verdict(first + b"cos\nsystem\n\xff\xff").status == "flagged"


def test_an_object_array_in_npy_and_joblib_is_read():
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    assert verdict(npy + b"\x80\x02cos\nsystem\n(S'x'\ntR.").status == "flagged"
    plain = header.replace(b"|O", b"<f8")
    plain_npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(plain)) + plain + b"\x00" * 8
    assert verdict(plain_npy).status == "not_applicable"


def test_joblib_object_arrays_are_scanned():
    import joblib
    import numpy as np

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo hi",))

    buffer = io.BytesIO()
    joblib.dump({"x": np.array([Evil()], dtype=object), "y": np.arange(3.0)}, buffer)
    result = verdict(buffer.getvalue())
    assert result.status == "flagged"
    assert {(f["module"], f["name"]) for f in result.findings} == {("posix", "system")}


def test_the_opcode_limit_stops_a_long_pickle():
    result = verdict(b"\x80\x04" + b"N0" * 5000 + b".", max_opcodes=1000)
    assert result.status == "error" and "opcodes" in result.findings[0]["error"]


@pytest.mark.parametrize(
    "text",
    [
        b"channels:\n- conda-forge\ndependencies:\n- python=3.11.9\n",  # mlflow's conda.yaml
        b"artifact_path: model\nflavors:\n  python_function: {}\n",  # an MLmodel
        b"cloudpickle==3.0.0\nnumpy==2.1.0\nscikit-learn==1.5.2\n",  # requirements.txt
        b"little",  # torch's byteorder file
        b"3\n",
    ],
)
def test_text_that_happens_to_read_as_opcodes_is_not_a_pickle(text):
    """'c' is GLOBAL and 'a' APPEND: the unpickler stops at a module name that cannot be
    imported, or at an empty stack, before running anything."""
    assert verdict(text).status == "not_applicable"


def test_an_importable_module_with_a_junk_name_is_still_flagged():
    # Importing `os` runs its module code even if the attribute then fails.
    assert verdict(b"cos\n- not a name\n").status == "flagged"


def test_a_pickle_that_ends_as_a_zip_is_scanned_as_both():
    """zipfile finds an archive from its end: harmless pickle first, hostile zip after."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02cos\nsystem\n(S'x'\ntR.")
    polyglot = pickle.dumps({"a": 1}, protocol=2) + out.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    result = verdict(polyglot)
    assert result.status == "flagged"
    assert result.findings[0]["member"] == "archive/data.pkl"


def test_a_million_imports_are_quick_and_the_findings_stay_short():
    """Checking a global is a few lookups, remembered; the findings list is capped, so a
    pickle of endless distinct imports cannot bloat the artifact row or its audit event."""
    import time

    same = b"\x80\x04" + (b"ccollections\nOrderedDict\n0" * 300_000) + b"N."
    started = time.monotonic()
    assert verdict(same).status == "clean"
    assert time.monotonic() - started < 10

    distinct = b"".join(b"cmod%d\nname\n0" % i for i in range(5_000)) + b"N."
    result = verdict(distinct)
    assert result.status == "flagged"
    assert len(result.findings) == 101
    assert result.findings[-1] == {"error": "and 4900 more globals outside the allow-list"}


def test_a_long_first_line_is_text_unless_it_could_be_a_module_name():
    csv = b"c" + b"olumn_a,column_b," * 100 + b"\n1,2\n"
    assert verdict(csv).status == "not_applicable"
    assert verdict(b"c" + b"a" * 2000 + b"\nx\n)R.").status == "flagged"


@pytest.mark.parametrize(
    "prefix",
    [
        b"I0x10\n0",  # the unpickler's INT takes hex; pickletools' reader does not
        b"I1L\n0",
        b"F1e400x\n0",
        b"S'" + b"x" * 2_000_000 + b"'\n0",  # a text argument longer than any line limit
        b"Vsnow\\u2603\n0",
    ],
)
def test_values_the_reader_finds_odd_do_not_hide_the_import_after_them(prefix):
    assert verdict(prefix + b"cos\nsystem\n(S'x'\ntR.").status == "flagged"
