"""The upload form: it keeps what the user typed on error, and reads parameters (rows, JSON and
CSV files) and metrics with clear field errors.
"""

import html
import re

import pytest

from registry.models import Metric, Param
from tests.registry.conftest import NOTHING, post_upload, row_counts
from tests.registry.uploads.helpers import assert_nothing_kept, field_errors, form_errors, page_raw

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp")


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
