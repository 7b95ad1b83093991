"""prefect.yaml declares a deployment whose entrypoint really is the ingest_stored flow."""

import importlib
from pathlib import Path

import yaml
from prefect import Flow
from prefect.client.schemas.schedules import construct_schedule

ROOT = Path(__file__).resolve().parent.parent


def test_stored_corpus_deployment_runs_hourly_over_the_seeds():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (deployment,) = [d for d in config["deployments"] if d["name"] == "stored-hourly"]
    module_path, _, attribute = deployment["entrypoint"].partition(":")
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, attribute)
    assert isinstance(flow, Flow) and flow.name == "ingest_stored"
    assert deployment["parameters"]["paths"] == ["data/seeds"]
    (schedule,) = deployment["schedules"]
    cron = construct_schedule(cron=schedule["cron"], timezone=schedule["timezone"])
    assert cron.cron == "0 * * * *"
    assert set(deployment["parameters"]) <= set(flow.parameters.properties)


def test_every_deployment_names_a_real_flow_its_parameters_and_one_run_at_a_time():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    crons = {}
    for deployment in config["deployments"]:
        module_path, _, attribute = deployment["entrypoint"].partition(":")
        flow = getattr(importlib.import_module(module_path.removesuffix(".py").replace("/", ".")), attribute)
        assert isinstance(flow, Flow), deployment["name"]
        assert set(deployment["parameters"]) <= set(flow.parameters.properties), deployment["name"]
        assert deployment["concurrency_limit"] == 1
        params = deployment["parameters"]
        for listed in [*params.get("paths", []), *filter(None, [params.get("feeds_file")])]:
            assert (ROOT / listed).exists(), listed
        (schedule,) = deployment["schedules"]
        crons[deployment["name"]] = construct_schedule(cron=schedule["cron"], timezone=schedule["timezone"]).cron
    assert crons == {"stored-hourly": "0 * * * *", "feeds-15min": "*/15 * * * *",
                     "sitemaps-daily": "30 4 * * *", "warc-daily": "0 5 * * *"}
