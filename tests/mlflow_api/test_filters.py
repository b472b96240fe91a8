import pytest

from mlflow_api import filters
from mlflow_api.errors import ApiError


def test_parse_clauses():
    assert filters.parse("name = 'a' AND tags.`my key` LIKE 'x%' and run_id IN ('r1','r2')") == [
        ("name", None, "=", "a"),
        ("tags", "my key", "LIKE", "x%"),
        ("run_id", None, "IN", ["r1", "r2"]),
    ]
    assert filters.parse("tag.`mlflow.prompt.is_prompt` != 'true'") == [
        ("tags", "mlflow.prompt.is_prompt", "!=", "true")
    ]
    assert filters.parse('version_number >= 3 AND tags.k = "v"') == [
        ("version_number", None, ">=", "3"),
        ("tags", "k", "=", "v"),
    ]


@pytest.mark.parametrize(
    "text",
    ["name = 'a' OR name = 'b'", "name =", "name 'a'", "name = a", "name IN 'a'", "AND"],
)
def test_parse_errors(text):
    with pytest.raises(ApiError) as exc:
        filters.parse(text)
    assert exc.value.code == "INVALID_PARAMETER_VALUE"


def test_like_patterns():
    # LIKE runs in SQL (GLOB on SQLite for case-sensitivity), never as a Python regex.
    assert filters.glob_pattern("fr_ud%") == "fr?ud*"
    assert filters.glob_pattern("a*b?c[d]%%%") == "a[*]b[?]c[[]d]*"
    assert filters.like_pattern("a\\b%%_") == "a\\\\b%_"


def test_order_by_and_caps():
    assert filters.order_by(["name DESC"], filters.MODEL_ORDER, ["name", "pk"]) == ["-name", "pk"]
    with pytest.raises(ApiError):
        filters.order_by(["size"], filters.MODEL_ORDER, [])
    assert filters.max_results(None, default=100, cap=1000) == 100
    with pytest.raises(ApiError):
        filters.max_results("1001", default=100, cap=1000)
    assert filters.page_offset(filters.page_token(40)) == 40
    with pytest.raises(ApiError):
        filters.page_offset("garbage!")
