"""prefect.yaml and deployments/catalog.py describe the same deployments, and nothing secret."""

from __future__ import annotations

import importlib
import re

import yaml

from deployments.catalog import DEPLOYMENTS, WORK_POOL, WindowKind, spec_for
from tests.deployments.live import REPO_ROOT

PREFECT_YAML = REPO_ROOT / "prefect.yaml"


def deployments_in_yaml() -> dict[str, dict]:
    config = yaml.safe_load(PREFECT_YAML.read_text())
    return {d["entrypoint"]: d for d in config["deployments"]}


def test_every_catalogued_flow_is_deployed_under_its_name_with_a_schedule_in_the_business_timezone():
    in_yaml = deployments_in_yaml()
    assert set(in_yaml) == {spec.entrypoint for spec in DEPLOYMENTS.values()}
    for spec in DEPLOYMENTS.values():
        deployment = in_yaml[spec.entrypoint]
        assert deployment["name"] == spec.deployment
        assert deployment["work_pool"]["name"] == WORK_POOL
        assert deployment["schedules"], spec.flow
        for schedule in deployment["schedules"]:
            assert schedule["timezone"] == "{{ $DEALER_SYNC_BUSINESS_TIMEZONE }}"
        assert deployment["concurrency_limit"]["limit"] == 1
        (step,) = deployment["pull"]
        assert step["prefect.deployments.steps.set_working_directory"] == {
            "directory": "{{ $DEALER_SYNC_WORKER_HOME }}"
        }


def test_entrypoints_load_the_flows_the_catalog_names_and_parameters_exist():
    in_yaml = deployments_in_yaml()
    for spec in DEPLOYMENTS.values():
        path, function = spec.entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, function)
        assert flow.name == spec.flow_name
        parameters = set(flow.parameters.properties)
        assert set(in_yaml[spec.entrypoint].get("parameters", {})) <= parameters, spec.flow
        window = {"since", "until"} if spec.window is WindowKind.INSTANTS else {"first_day", "last_day"}
        if spec.window is not WindowKind.NONE:
            assert window <= parameters, spec.flow


def test_backfills_queue_behind_a_running_run_except_for_the_stock_refresh():
    in_yaml = deployments_in_yaml()
    for spec in DEPLOYMENTS.values():
        strategy = in_yaml[spec.entrypoint]["concurrency_limit"]["collision_strategy"]
        expected = "CANCEL_NEW" if spec.window is WindowKind.NONE else "ENQUEUE"
        assert strategy == expected, spec.flow


def test_the_file_holds_no_secret_and_no_absolute_path():
    text = PREFECT_YAML.read_text()
    assert not re.search(r"(?i)(secret|token|password)\s*:", text)
    assert not re.search(r"(?<![\w.{$])/[\w.-]+/", text)  # no absolute path: entrypoints are relative


def test_an_unknown_flow_name_lists_the_valid_ones():
    try:
        spec_for("order-to-invoices")
    except KeyError as exc:
        assert "order-to-invoice" in str(exc) and "reconciliation" in str(exc)
    else:
        raise AssertionError("an unknown flow was accepted")
