"""Which globals a pickle may import and still be called clean: data, kept in one place.

An entry is `module.name`, read as the pickle's (module, name) pair split at the last dot:
- `collections.OrderedDict`: exactly that global;
- `numpy.random._pickle.*`: any plain name (no dots) defined in exactly that module;
- `sklearn.tree.**.[A-Z]*`: in that package or any module under it, a plain name matching
  the glob (here: a class name). `**` and globs never match a dotted name such as
  `InteractiveConsole.push`: a method reached through a class is only allowed by name.

Everything not matched is flagged. NEVER wins over everything, the defaults and the
ATTEST_SCAN_ALLOWED_GLOBALS setting alike; a setting entry that would let one of NEVER
through is refused at start-up. Why each default is safe is in docs/architecture.md,
"Pickle scanning".
"""

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

_NUMPY_SCALARS = [
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "intc",
    "uintc",
    "intp",
    "uintp",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "clongdouble",
    "str_",
    "bytes_",
    "object_",
    "datetime64",
    "timedelta64",
    "void",
]

_TORCH_STORAGES = [
    "Float",
    "Double",
    "Half",
    "BFloat16",
    "Long",
    "Int",
    "Short",
    "Char",
    "Byte",
    "Bool",
    "ComplexFloat",
    "ComplexDouble",
    "QUInt8",
    "QInt8",
    "QInt32",
    "QUInt4x2",
    "QUInt2x4",
]
_TORCH_DTYPES = [
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "half",
    "float",
    "double",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "short",
    "int",
    "long",
    "bool",
    "qint8",
    "quint8",
    "qint32",
]

# scikit-learn estimators live in private modules of these subpackages. Only class names
# (and Cython's per-class unpickle helpers) are allowed there, never functions: sklearn
# also ships helpers that fetch URLs, read files or run Python (datasets, utils._testing),
# which are outside these subpackages and outside these name patterns.
_SKLEARN_PACKAGES = [
    "calibration",
    "compose",
    "covariance",
    "cross_decomposition",
    "decomposition",
    "discriminant_analysis",
    "dummy",
    "ensemble",
    "feature_extraction",
    "feature_selection",
    "frozen",
    "gaussian_process",
    "impute",
    "isotonic",
    "kernel_approximation",
    "kernel_ridge",
    "linear_model",
    "manifold",
    "mixture",
    "model_selection",
    "multiclass",
    "multioutput",
    "naive_bayes",
    "neighbors",
    "neural_network",
    "pipeline",
    "preprocessing",
    "random_projection",
    "semi_supervised",
    "svm",
    "tree",
    "_loss",
    "metrics._dist_metrics",
    "metrics._scorer",
    "utils._bunch",
]

DEFAULT_ALLOWED: tuple[str, ...] = (
    # Python's own containers and values. Calling these builds data, nothing else.
    *(
        f"builtins.{n}"
        for n in [
            "dict",
            "list",
            "set",
            "frozenset",
            "tuple",
            "bytearray",
            "bytes",
            "complex",
            "slice",
            "range",
            "bool",
            "int",
            "float",
            "str",
            "object",
        ]
    ),
    *(
        f"__builtin__.{n}"
        for n in [
            "dict",
            "list",
            "set",
            "frozenset",
            "tuple",
            "bytearray",
            "bytes",
            "complex",
            "object",
        ]
    ),
    "copyreg._reconstructor",  # protocols 0-1: cls.__new__ + base.__init__ of allowed classes
    "copy_reg._reconstructor",
    "_codecs.encode",  # protocol 0-2 bytes: _codecs.encode(text, "latin1")
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.Counter",
    "collections.deque",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    # NumPy arrays, dtypes, scalars and random generators: the reconstructors take shapes,
    # dtypes and bytes. numpy.load, numpy.testing and friends are not here.
    "numpy.ndarray",
    "numpy.dtype",
    *(f"numpy.{n}" for n in _NUMPY_SCALARS),
    "numpy.core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy._core.numeric._frombuffer",
    "numpy.ma.core._mareconstruct",
    "numpy.ma.core.MaskedArray",
    "numpy.ma.MaskedArray",
    "numpy.dtypes.[A-Z]*",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random.bit_generator.SeedSequence",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64",
    "numpy.random._pcg64.PCG64DXSM",
    "numpy.random._philox.Philox",
    "numpy.random._sfc64.SFC64",
    "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator",
    # SciPy sparse matrices (what sklearn text features and one-hot encoders hold).
    *(
        f"scipy.sparse._{fmt}.{fmt}_{kind}"
        for fmt in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
        for kind in ("matrix", "array")
    ),
    *(f"scipy.sparse.{fmt}.{fmt}_matrix" for fmt in ("csr", "csc", "coo", "bsr", "dia", "lil")),
    # scikit-learn: estimator classes (see _SKLEARN_PACKAGES) and their Cython helpers.
    *(f"sklearn.{p}.**.[A-Z]*" for p in _SKLEARN_PACKAGES),
    *(f"sklearn.{p}.**._[A-Z]*" for p in _SKLEARN_PACKAGES),
    *(f"sklearn.{p}.**.__pyx_unpickle_[A-Z]*" for p in _SKLEARN_PACKAGES),
    "sklearn.neighbors._kd_tree.newObj",  # `obj.__new__(obj)` for KDTree / BallTree
    "sklearn.neighbors._ball_tree.newObj",
    "sklearn.metrics._dist_metrics.newObj",
    # joblib wraps each NumPy array; the array's bytes follow it in the stream.
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle_compat.NDArrayWrapper",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper",
    # XGBoost and LightGBM: the booster's state is the model's own bytes/text, parsed by
    # the native library, not by Python.
    "xgboost.core.Booster",
    "xgboost.sklearn.XGB[A-Z]*",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBM[A-Z]*",
    # PyTorch torch.save (the globals torch.load(weights_only=True) accepts): tensor and
    # parameter rebuilders, storage classes, dtypes, sizes, devices. Not torch.load, not
    # torch.storage._load_from_bytes (both unpickle again), not any nn.Module class.
    *(
        f"torch._utils.{n}"
        for n in [
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_qtensor",
            "_rebuild_sparse_tensor",
            "_rebuild_nested_tensor",
            "_rebuild_device_tensor_from_numpy",
            "_rebuild_meta_tensor_no_storage",
        ]
    ),
    "torch._tensor._rebuild_from_type_v2",
    *(f"torch.{n}Storage" for n in _TORCH_STORAGES),
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.UntypedStorage",
    *(f"torch.{n}" for n in _TORCH_DTYPES),
    "torch.Size",
    "torch.device",
    "torch.serialization._get_layout",
    "torch.nn.parameter.Parameter",
)


@dataclass(frozen=True)
class Rule:
    module: str  # exact module, or a package when `deep`
    deep: bool  # `package.**`: the package and every module under it
    name: str  # exact name or a glob (fnmatch, case-sensitive)

    def matches(self, module: str, name: str) -> bool:
        if self.deep:
            if module != self.module and not module.startswith(self.module + "."):
                return False
        elif module != self.module:
            return False
        if self.name == name:
            return True
        # A glob never reaches through a class to its methods (`Class.method`).
        return _is_glob(self.name) and "." not in name and fnmatchcase(name, self.name)


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


# Never allowed, whatever the defaults or the setting say: (module, name glob).
NEVER: tuple[tuple[str, str], ...] = (
    *(
        ("builtins", n)
        for n in [
            "eval",
            "exec",
            "compile",
            "getattr",
            "setattr",
            "delattr",
            "__import__",
            "open",
            "input",
            "breakpoint",
            "globals",
            "locals",
            "vars",
            "help",
            "exit",
            "quit",
            "memoryview",
        ]
    ),
    *(
        ("__builtin__", n)
        for n in [
            "eval",
            "exec",
            "execfile",
            "compile",
            "getattr",
            "setattr",
            "__import__",
            "open",
            "file",
            "input",
        ]
    ),
    *(
        (m, "*")
        for m in [
            "os",
            "posix",
            "nt",
            "sys",
            "subprocess",
            "code",
            "codeop",
            "importlib",
            "runpy",
            "pickle",
            "_pickle",
            "cPickle",
            "dill",
            "shelve",
            "marshal",
            "shutil",
            "socket",
            "pty",
            "webbrowser",
            "ctypes",
            "multiprocessing",
            "asyncio",
            "threading",
            "signal",
            "operator",
            "functools",
            "types",
            "inspect",
            "pdb",
            "bdb",
            "timeit",
            "profile",
            "cProfile",
            "trace",
            "urllib",
            "http",
            "ftplib",
            "smtplib",
            "telnetlib",
            "tempfile",
            "glob",
            "io",
            "_io",
            "pathlib",
            "zipimport",
            "pkgutil",
            "site",
            "sysconfig",
            "platform",
            "torch.hub",
        ]
    ),
    ("numpy", "load"),
    ("numpy", "loads"),
    ("numpy", "fromfile"),
    ("numpy.testing", "*"),
    ("numpy.distutils", "*"),
    ("numpy.f2py", "*"),
    ("numpy.lib.npyio", "*"),
    ("torch", "load"),
    ("torch.storage", "_load_from_bytes"),
    ("torch.serialization", "load"),
    ("torch.jit", "*"),
    ("torch._C", "*"),
    ("joblib", "load"),
    ("joblib.numpy_pickle", "load"),
    ("sklearn.utils._testing", "*"),
    ("sklearn.datasets", "*"),
)
NEVER_NAMES = frozenset(
    [
        "Popen",
        "InteractiveConsole",
        "InteractiveInterpreter",
        "Unpickler",
        "CDLL",
        "PyDLL",
        "WinDLL",
    ]
)

_PATTERN = re.compile(
    r"^(?P<module>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\.\*\*)?)"
    r"\.(?P<name>[A-Za-z0-9_*?\[\]\-]+)$"
)


class AllowListError(ValueError):
    pass


def parse_rule(entry: str) -> Rule:
    """One `module.name` entry as a Rule; AllowListError says what is wrong with it."""
    match = _PATTERN.match(entry.strip())
    if not match:
        raise AllowListError(
            f"{entry!r} is not `module.name`, `module.*` or `package.**.Name*` "
            "(dotted identifiers, a glob only in the last part)"
        )
    module, name = match["module"], match["name"]
    deep = module.endswith(".**")
    if deep:
        module = module[:-3]
    if not _is_glob(name) and not name.isidentifier():
        raise AllowListError(f"{entry!r}: {name!r} is neither a name nor a glob")
    rule = Rule(module=module, deep=deep, name=name)
    for never_module, never_name in NEVER:
        if _rule_covers(rule, never_module, never_name):
            raise AllowListError(
                f"{entry!r} would allow {never_module}.{never_name}, which can run code "
                "when a pickle is loaded; it is never allowed"
            )
    if rule.name in NEVER_NAMES:
        raise AllowListError(f"{entry!r} would allow a global named {rule.name}")
    if _is_test_module(rule.module):
        raise AllowListError(f"{entry!r} would allow a package's test code")
    return rule


def _rule_covers(rule: Rule, module: str, name: str) -> bool:
    """Could `rule` match a global that NEVER's (module, name) matches (the module or any
    module under it)?"""
    overlap = (
        rule.module == module
        or rule.module.startswith(module + ".")
        or (rule.deep and module.startswith(rule.module + "."))
    )
    if not overlap:
        return False
    if name == "*":
        return True
    return rule.name == name or (_is_glob(rule.name) and fnmatchcase(name, rule.name))


def parse_rules(entries) -> tuple[Rule, ...]:
    return tuple(parse_rule(e) for e in entries)


_NEVER_BY_MODULE: dict[str, tuple[str, ...]] = {}
for _module, _name in NEVER:
    _NEVER_BY_MODULE[_module] = (*_NEVER_BY_MODULE.get(_module, ()), _name)


def _prefixes(module: str):
    """ "a.b.c" -> "a", "a.b", "a.b.c"."""
    at = module.find(".")
    while at != -1:
        yield module[:at]
        at = module.find(".", at + 1)
    yield module


def _is_test_module(module: str) -> bool:
    """A package's own tests (sklearn/ensemble/tests/test_iforest.py, numpy/testing): never
    model code, and they re-export test doubles and runners (unittest.mock.Mock, joblib's
    LokyBackend, StringIO) that a `package.**` rule would otherwise let through."""
    return any(
        part in ("tests", "testing", "conftest") or part.startswith("test_")
        for part in module.split(".")
    )


def is_never(module: str, name: str) -> bool:
    """Is (module, name) on NEVER, in a NEVER module or one under it, in a test module, or
    named like a NEVER_NAMES class wherever it is re-exported?"""
    first = name.split(".", 1)[0]
    if first in NEVER_NAMES or name.rsplit(".", 1)[-1] in NEVER_NAMES:
        return True
    if _is_test_module(module):
        return True
    for prefix in _prefixes(module):
        names = _NEVER_BY_MODULE.get(prefix)
        if names and any(n == "*" or fnmatchcase(first, n) for n in names):
            return True
    return False


class AllowList:
    """Rules indexed by module, so checking a global costs a few dict lookups however long
    the list; decisions are remembered (a pickle may import the same name a million times)."""

    CACHE_SIZE = 100_000

    def __init__(self, rules: tuple[Rule, ...]):
        self.rules = rules
        self._exact: dict[str, list[Rule]] = {}
        self._deep: dict[str, list[Rule]] = {}
        for rule in rules:
            (self._deep if rule.deep else self._exact).setdefault(rule.module, []).append(rule)
        self._cache: dict[tuple[str, str], bool] = {}

    def __len__(self):
        return len(self.rules)

    def allows(self, module: str, name: str) -> bool:
        key = (module, name)
        known = self._cache.get(key)
        if known is not None:
            return known
        allowed = not is_never(module, name) and (
            any(r.matches(module, name) for r in self._exact.get(module, ()))
            or any(
                r.matches(module, name)
                for prefix in _prefixes(module)
                for r in self._deep.get(prefix, ())
            )
        )
        if len(self._cache) < self.CACHE_SIZE:
            self._cache[key] = allowed
        return allowed


def parse_entries(entries) -> tuple[str, ...]:
    """Check setting entries (AllowListError names the first bad one); return them."""
    cleaned = tuple(e.strip() for e in entries if e.strip())
    parse_rules(cleaned)
    return cleaned


_compiled: dict[tuple[str, ...], AllowList] = {}


def rules_for(extra: tuple[str, ...] = ()) -> AllowList:
    """The defaults plus `extra` (the setting), parsed once per distinct setting."""
    key = tuple(extra)
    if key not in _compiled:
        _compiled[key] = AllowList(parse_rules(DEFAULT_ALLOWED + key))
    return _compiled[key]
