"""prefect.yaml's deployments as Prefect deployments that `newsflow serve` serves, through Prefect's public API.

Each entry of `deployments:` (entrypoint `path/to/file.py:flow`, parameters,
schedules, tags, description, ...) becomes a `RunnerDeployment` with
`Flow.to_deployment`, its schedules built with `prefect.schedules` (`Cron`,
`Interval`, `RRule`), so entries added to prefect.yaml later are served
without code changes. `work_pool`, `pull`, `build` and `push` are for
`prefect deploy` (a worker runs those runs) and are ignored here.
Entrypoints resolve against the project root.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"

# Keys of a prefect.yaml deployment handed to `Flow.to_deployment` (besides name, entrypoint and schedules).
_PASSED_KEYS = ("description", "parameters", "tags", "version", "concurrency_limit", "enforce_parameter_schema",
                "paused")
_SCHEDULE_OPTIONS = ("timezone", "active", "parameters", "slug")


class DeploymentError(Exception):
    """prefect.yaml cannot be served as it is: a message for the user, no traceback."""


def load_deployments(prefect_yaml: Path, names: Sequence[str] | None = None) -> list:
    """One RunnerDeployment per deployment of prefect.yaml (or per named one: `name` or `flow/name`)."""
    import yaml

    try:
        config = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DeploymentError(f"cannot read {prefect_yaml}: {exc}") from exc
    entries = config.get("deployments") or []
    wanted = {n.rpartition("/")[2] for n in names or ()}
    selected = [d for d in entries if not wanted or d.get("name") in wanted]
    missing = wanted - {d.get("name") for d in selected}
    if missing:
        raise DeploymentError(f"no deployment named {', '.join(sorted(missing))} in {prefect_yaml}")
    if not selected:
        raise DeploymentError(f"no deployments in {prefect_yaml}")
    return [_to_deployment(entry, prefect_yaml) for entry in selected]


def _to_deployment(entry: dict, source: Path):
    name = entry.get("name")
    if not name or not entry.get("entrypoint"):
        raise DeploymentError(f"{source}: every deployment needs a name and an entrypoint ({entry!r})")
    try:
        flow = load_flow(entry["entrypoint"])
        schedules = [schedule_of(s) for s in entry.get("schedules") or []]
        options = {key: entry[key] for key in _PASSED_KEYS if entry.get(key) is not None}
        return flow.to_deployment(name=name, schedules=schedules, **options)
    except DeploymentError:
        raise
    except Exception as exc:
        raise DeploymentError(f"{source}: deployment {name!r}: {type(exc).__name__}: {exc}") from exc


def schedule_of(config: dict):
    """A prefect.yaml schedule (`cron`, `interval` in seconds or `rrule`, with timezone, active...) as a Schedule."""
    from prefect.schedules import Cron, Interval, RRule

    options = {key: config[key] for key in _SCHEDULE_OPTIONS if config.get(key) is not None}
    if config.get("cron"):
        return Cron(config["cron"], day_or=config.get("day_or", True), **options)
    if config.get("interval"):
        interval = config["interval"]
        anchor = {"anchor_date": config["anchor_date"]} if config.get("anchor_date") else {}
        return Interval(timedelta(seconds=interval) if isinstance(interval, (int, float)) else interval,
                        **anchor, **options)
    if config.get("rrule"):
        return RRule(config["rrule"], **options)
    raise DeploymentError(f"schedule {config!r}: expected cron, interval or rrule")


def load_flow(entrypoint: str):
    """The flow of `path/to/file.py:flow_name` (relative to the project root).

    A file of the project's packages is imported as its module (`flows.ingest_stored`), so the flow
    object pickles by reference into the run subprocesses; other files load through Prefect.
    """
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    path_text, _, attribute = entrypoint.rpartition(":")
    path = Path(path_text)
    path = path if path.is_absolute() else PROJECT_ROOT / path
    if not path.is_file():
        raise DeploymentError(f"entrypoint {entrypoint!r}: no file {path}")
    try:
        relative = path.resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        relative = None
    if relative is not None and path.suffix == ".py" and (PROJECT_ROOT / relative.parts[0] / "__init__.py").exists():
        module = importlib.import_module(".".join(relative.with_suffix("").parts))
        flow = getattr(module, attribute, None)
    else:
        flow = load_flow_from_entrypoint(f"{path}:{attribute}")
    if not isinstance(flow, Flow):
        raise DeploymentError(f"entrypoint {entrypoint!r} is not a Prefect flow")
    return flow
