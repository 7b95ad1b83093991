"""The README's commands, run as a newcomer types them: in bash, after `source .venv/bin/activate`.

A private copy of the project's data/ (the seeds) is the working directory, so relative paths
(data/seeds, data/news.duckdb) mean what they mean in the README, and nothing of the project's own
warehouse is touched. Every `newsflow sql` example's output starts with the header the README shows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(heading: str) -> str:
    start = README.index(heading)
    end = README.find("\n## ", start + len(heading))
    return README[start:end if end != -1 else None]


def _blocks(text: str, language: str = "sh") -> list[str]:
    """The fenced blocks of `text` whose info string is `language` ("" for plain output blocks)."""
    blocks, current, info = [], None, None
    for line in text.splitlines():
        if line.strip().startswith("```"):
            if current is None:
                current, info = [], line.strip()[3:]
            else:
                if info == language:
                    blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory, prefect_api) -> Path:
    """A working directory with data/seeds, where the README's first-steps block has been run as written."""
    home = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "data" / "seeds", home / "data" / "seeds")
    (home / ".venv").symlink_to(ROOT / ".venv")
    return home


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()  # the session's API: no temporary one per command
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_first_steps_run_as_written(newcomer):
    activated, by_path = _blocks(_section("### After `make run`"))
    result = _bash(activated, newcomer)
    assert result.returncode == 0, result.stderr
    assert "seen 5 | new 5" in result.stdout
    assert re.search(r"^5\s*$", result.stdout, re.M)  # newsflow sql: 5 articles
    assert re.search(r"│\s*site\s*│\s*articles\s*│", result.stdout)  # the duckdb shell's answer
    by_path_result = _bash(by_path, newcomer)
    assert by_path_result.returncode == 0 and re.search(r"^5\s*$", by_path_result.stdout, re.M)


def test_every_example_query_runs_as_written_and_prints_its_columns(newcomer):
    if not (newcomer / "data" / "news.duckdb").exists():
        assert _bash("source .venv/bin/activate\nnewsflow ingest data/seeds", newcomer).returncode == 0
    section = _section("## Example queries")
    commands = _blocks(section)
    shown = _blocks(section, language="")
    assert len(commands) >= 8 and len(commands) == len(shown)
    for command, output in zip(commands, shown):
        result = _bash("source .venv/bin/activate\n" + command, newcomer)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        assert result.stdout.splitlines()[0].split() == output.splitlines()[0].split(), command
