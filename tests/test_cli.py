"""The `newsflow` command line: exit statuses, output formats, and a run killed halfway."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from run_output import read_until_batches_loaded

from flows.cli import main

NEWSFLOW = [sys.executable, "-m", "flows.cli"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [[], ["ingest"], ["sql"], ["fetch"], ["feeds"], ["sitemap"], ["export"]])
def test_every_command_has_help(command):
    result = subprocess.run(NEWSFLOW + command + ["--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0
    assert "usage: newsflow" in result.stdout and "--help" in result.stdout


def _cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    """The real CLI in its own process, with its own PREFECT_HOME and no API configured."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    return subprocess.run(NEWSFLOW + list(args), capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**clean, "PREFECT_HOME": str(home), **env})


@pytest.mark.parametrize("args, message", [
    (["ingest", "data/seeds", "--batch-size", "-1"], "newsflow ingest: argument --batch-size: must be at least 1, got -1"),
    (["ingest", "data/seeds", "--workers", "zero"], "newsflow ingest: argument --workers: expected a whole number, got 'zero'"),
    (["ingest", "data/seed"], "newsflow ingest: no such file or folder: data/seed"),
    (["fetch", "https://example.org/", "--timeout", "0"], "newsflow fetch: argument --timeout: must be more than 0 seconds"),
    (["feeds", "https://example.org/", "--delay", "-2"], "newsflow feeds: argument --delay: must be 0 or more seconds, got -2"),
    (["sitemap", "--from-file", "no-such-list.txt"], "newsflow sitemap: no such file: no-such-list.txt"),
    (["fetch"], "newsflow fetch: give URLs or --from-file FILE"),
])
def test_a_bad_argument_is_one_line_before_anything_starts(args, message, tmp_path):
    result = _cli(*args, home=tmp_path / "home")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "temporary-api.log").exists()  # no Prefect API was started


def test_version_comes_from_the_package_metadata(tmp_path):
    from importlib.metadata import version

    assert _cli("--version", home=tmp_path).stdout.strip() == f"newsflow {version('newsflow')}"


@pytest.mark.usefixtures("prefect_api")
def test_ingest_exit_status_says_what_landed(seeds_copy, db_path, tmp_path, capsys):
    assert main(["ingest", str(seeds_copy), "--db", str(db_path)]) == 0
    assert "seen 5 | new 5" in capsys.readouterr().out
    (seeds_copy / "empty.txt").write_bytes(b"")
    assert main(["ingest", str(seeds_copy), "--db", str(db_path)]) == 1
    assert "unchanged 5 | not modified (304) 0 | duplicates 0 | failed 1" in capsys.readouterr().out
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "a.pdf").write_bytes(b"%PDF-1.4")
    assert main(["ingest", str(nothing), "--db", str(db_path)]) == 2
    assert main(["ingest", str(tmp_path / "no-such-folder"), "--db", str(db_path)]) == 2


@pytest.fixture
def loaded_db(seeds_copy, db_path) -> Path:
    """A warehouse with the seeds in it, built through the flow."""
    from flows.ingest_stored import ingest_stored

    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    return db_path


@pytest.mark.usefixtures("prefect_api")
def test_sql_prints_json_csv_and_tables(loaded_db, capsys):
    query = "SELECT title, authors, published_at FROM articles WHERE title IS NOT NULL ORDER BY title"
    assert main(["sql", query, "--db", str(loaded_db), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 4 and set(records[0]) == {"title", "authors", "published_at"}
    assert any(r["authors"] == ["Craig Nigrelli"] and r["published_at"].startswith("2025-05-02") for r in records)

    assert main(["sql", query, "--db", str(loaded_db), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["title", "authors", "published_at"] and len(rows) == 5

    assert main(["sql", query, "--db", str(loaded_db), "--max-width", "80"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("title") and table[-1] == "(4 rows)"
    assert all(len(line) <= 80 for line in table)


@pytest.mark.usefixtures("prefect_api")
def test_sql_refuses_writes_and_reports_errors(loaded_db, capsys):
    assert main(["sql", "DELETE FROM articles", "--db", str(loaded_db)]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["sql", "SELECT nope FROM articles", "--db", str(loaded_db)]) == 2
    con = duckdb.connect(str(loaded_db), read_only=True)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5


@pytest.mark.usefixtures("prefect_api")
def test_export_writes_a_parquet_snapshot_pandas_and_duckdb_read(loaded_db, tmp_path, capsys):
    import pandas as pd

    snapshot = tmp_path / "snapshot"
    assert main(["export", "--db", str(loaded_db), "--out", str(snapshot)]) == 0
    assert "articles.parquet  5 rows" in capsys.readouterr().out
    articles = pd.read_parquet(snapshot / "articles.parquet")
    assert len(articles) == 5 and {"title", "body", "authors", "published_at"} <= set(articles.columns)
    with duckdb.connect() as con:
        assert con.execute(f"SELECT sum(n_copies) FROM '{snapshot}/v_stories.parquet'").fetchone()[0] == 5
        assert con.execute(f"SELECT count(*) FROM '{snapshot}/entities.parquet'").fetchone()[0] > 0
    with duckdb.connect(str(loaded_db), read_only=True) as con:
        views = {name for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert "entity_cooccurrence" in views and views <= {p.stem for p in snapshot.glob("*.parquet")}
    assert not (snapshot / "line_key_docs.parquet").exists()
    # A snapshot is never written over, and nothing half-written is left behind.
    assert main(["export", "--db", str(loaded_db), "--out", str(snapshot)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.usefixtures("prefect_api")
def test_fetch_exit_status_and_the_private_address_guard(web, db_path, capsys):
    import gzip

    page = gzip.decompress((ROOT / "tests/fixtures/web/pages/Reuters_0.html.gz").read_bytes())
    web.route("/story", page, headers={"Content-Type": "text/html; charset=utf-8"})
    fast = ["--db", str(db_path), "--delay", "0", "--no-entities"]
    assert main(["fetch", web.url("/story"), *fast]) == 2  # loopback is refused by default
    assert "loopback" in capsys.readouterr().out + _failure_reasons(db_path)
    assert not web.requests
    assert main(["fetch", web.url("/story"), "--allow-private", *fast]) == 0
    urls = _url_list_file(db_path, [web.url("/story"), "# a comment", web.url("/missing")])
    assert main(["fetch", "--from-file", str(urls), "--allow-private", *fast]) == 1
    assert "not modified (304) 0" in capsys.readouterr().out


def _url_list_file(db_path: Path, lines: list[str]) -> Path:
    path = db_path.parent / "urls.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _failure_reasons(db_path: Path) -> str:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return " ".join(error for (error,) in con.execute("SELECT error FROM failures").fetchall())


def _varied_corpus(target: Path, n: int) -> None:
    """n distinct stored dumps made from the seeds, each with its own opening paragraph."""
    seeds = sorted((ROOT / "data" / "seeds").glob("*.txt"))
    target.mkdir()
    for i in range(n):
        text = seeds[i % len(seeds)].read_text(encoding="utf-8")
        lines = text.split("\n")
        lines.insert(len(lines) // 2, f"\nCorrespondents filed report number {i} on the talks, officials said.\n")
        (target / f"doc_{i:03d}.txt").write_text("\n".join(lines), encoding="utf-8")


def _descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below `pid`, from /proc."""
    from flows.lifetime import descendants

    return {(child, started) for child in descendants(pid) if (started := _start_time(child))}


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else fields[19]


def _alive(tree: set[tuple[int, str]]) -> list[str]:
    return [f"{pid}: {Path(f'/proc/{pid}/cmdline').read_bytes()[:120]!r}" for pid, started in tree
            if _start_time(pid) == started]


def _left_at(deadline: float, tree: set[tuple[int, str]]) -> list[str]:
    """The processes of `tree` still alive at `deadline` (time.monotonic()), or none as soon as all are gone."""
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(tree)


def _kill_leftovers(process: subprocess.Popen, children: set[tuple[int, str]]) -> None:
    """After a test, whatever it passed or failed: SIGKILL the command and every process it left."""
    for pid, _ in _descendants(process.pid) | children:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def _start_ingest(corpus: Path, db_path: Path, home: Path, *args: str, **env: str) -> subprocess.Popen:
    """`newsflow ingest` in its own session (as from a terminal), its log at INFO so batches can be counted."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    return subprocess.Popen(
        NEWSFLOW + ["ingest", str(corpus), "--db", str(db_path), "--no-entities", *args],
        cwd=ROOT, env={**clean, "PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "INFO", **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _wait_for_batches(process: subprocess.Popen, n: int, seen: list[str]) -> set[tuple[int, str]]:
    """Read the run's output until `n` batches landed; the command's child processes at that moment."""
    # a fresh PREFECT_HOME: the temporary API migrates its database first
    loaded = read_until_batches_loaded(process, n, timeout=300, seen=seen)
    assert loaded >= n, "the run never loaded its batches:\n" + "".join(seen[-30:])
    return _descendants(process.pid)


def test_sigkill_mid_ingest_leaves_no_child_and_the_next_run_finishes(tmp_path, db_path, prefect_api):
    from flows.ingest_stored import ingest_stored

    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 160)
    process = _start_ingest(corpus, db_path, tmp_path / "home", "--batch-size", "40", "--workers", "2")
    children: set[tuple[int, str]] = set()
    try:
        children = _wait_for_batches(process, 1, [])
        commands = " ".join(_alive(children))
        assert "uvicorn" in commands and "multiprocessing" in commands, commands  # a temporary API, workers
        os.kill(process.pid, signal.SIGKILL)  # the command alone: its children must notice by themselves
        process.wait(timeout=30)
        assert _left_at(time.monotonic() + 10, children) == []
    finally:
        _kill_leftovers(process, children)

    with duckdb.connect(str(db_path), read_only=True) as con:
        landed = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        run_seen, status = con.execute("SELECT n_seen, status FROM ingest_runs").fetchone()
        assert con.execute("SELECT count(*) FROM articles WHERE body IS NULL OR body = ''").fetchone()[0] == 0
    assert status == "running" and landed == run_seen and landed % 40 == 0 and 40 <= landed < 160

    summary = ingest_stored(paths=[str(corpus)], db=str(db_path), batch_size=40, entities=False)
    assert (summary["n_new"], summary["n_unchanged"], summary["n_failed"]) == (160 - landed, landed, 0)
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT source_uri) FROM articles").fetchone() == (160, 160)
        statuses = [s for (s,) in con.execute("SELECT status FROM ingest_runs ORDER BY started_at").fetchall()]
    assert statuses == ["interrupted", "completed"]


STOP_BOUND = 10.0
"""Seconds from Ctrl-C or SIGTERM to the command's exit (issue 14)."""


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=lambda sig: sig.name)
def test_a_stop_mid_ingest_exits_at_once_with_whole_batches_and_the_run_interrupted(stop, tmp_path, db_path):
    """Ctrl-C in a terminal, or SIGTERM from a service manager, sent to the command's whole process group."""
    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 400)
    process = _start_ingest(corpus, db_path, tmp_path / "home", "--batch-size", "40", "--workers", "2")
    seen: list[str] = []
    children: set[tuple[int, str]] = set()
    try:
        children = _wait_for_batches(process, 1, seen)
        assert "uvicorn" in " ".join(_alive(children)), _alive(children)  # a temporary API, stopped on the way out
        signalled = time.monotonic()
        os.killpg(process.pid, stop)
        try:
            rest, _ = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"newsflow ingest still running 120 s after {stop.name}:\n" + "".join(seen[-20:]))
        took = time.monotonic() - signalled
    finally:
        _kill_leftovers(process, children)
    assert took < STOP_BOUND, f"exited {took:.1f} s after {stop.name}:\n{rest[-3000:]}"
    assert process.returncode == 128 + stop, rest[-3000:]
    assert "stopping hard" not in rest and "Traceback" not in rest, rest[-3000:]  # the orderly way out, in time
    assert "Crash" not in rest and "ERROR" not in rest, rest[-3000:]  # the stop's records stay in the API
    assert _left_at(signalled + STOP_BOUND, children) == []  # the fork server goes once the command is gone

    with duckdb.connect(str(db_path), read_only=True) as con:
        landed = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        run_id, run_seen, status = con.execute("SELECT run_id, n_seen, status FROM ingest_runs").fetchone()
    assert status == "interrupted" and landed == run_seen and landed % 40 == 0 and 40 <= landed < 400
    told = [line for line in rest.splitlines() if line.startswith("newsflow ingest: interrupted")]
    assert told == [f"newsflow ingest: interrupted: {landed} input(s) landed in whole batches ({landed} new, "
                    f"0 failed) before the stop; run {run_id} recorded interrupted; a rerun finishes the job"], rest


def test_progress_on_a_terminal_and_none_when_piped(tmp_path, prefect_api_url):
    import pty

    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 12)
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "COLUMNS": "120"}
    command = NEWSFLOW + ["ingest", str(corpus), "--batch-size", "3", "--no-entities"]
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command + ["--db", str(tmp_path / "tty.duckdb")], cwd=ROOT, env=env,
                               stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True)
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        drawn += chunk
    os.close(primary)
    assert process.wait(timeout=60) == 0
    screen = drawn.decode(errors="replace")
    assert "ingest" in screen and "12/12" in screen and "0 failed" in screen and "/s" in screen
    assert "seen 12 | new 12" in screen

    piped = subprocess.run(command + ["--db", str(tmp_path / "piped.duckdb")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and "seen 12 | new 12" in piped.stdout
    assert piped.stderr == "" and "12/12" not in piped.stdout
    quiet = subprocess.run(command + ["--db", str(tmp_path / "piped.duckdb"), "--quiet"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


@pytest.mark.usefixtures("prefect_api")
def test_failures_are_told_grouped_by_reason_with_examples(seeds_copy, db_path, capsys):
    for name in ("a", "b", "c"):
        (seeds_copy / f"empty_{name}.txt").write_bytes(b"")
    for name in ("x", "y"):
        (seeds_copy / f"scan_{name}.pdf").write_bytes(b"%PDF-1.4")
    assert main(["ingest", str(seeds_copy), "--db", str(db_path), "--no-entities"]) == 1
    out = capsys.readouterr().out
    assert "failures by reason (5):" in out
    lines = out.splitlines()
    by_count = {line.split()[0]: line for line in lines if line.strip()[:1].isdigit()}
    assert set(by_count) == {"3", "2"}
    assert "unsupported file type .pdf" in by_count["2"]
    examples = lines[lines.index(by_count["3"]) + 1]
    assert examples.strip().startswith("e.g. ") and all(f"empty_{n}.txt" in examples for n in "abc")
    assert f"newsflow sql \"SELECT source_uri, stage, error FROM failures WHERE run_id = '" in out

    assert main(["ingest", str(seeds_copy), "--db", str(db_path), "--no-entities", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert sorted(g["count"] for g in summary["failure_reasons"]) == [2, 3]
    assert all(len(g["examples"]) == g["count"] for g in summary["failure_reasons"])


def test_a_list_of_files_too_long_for_a_flow_runs_parameters_lands_whole(tmp_path, db_path):
    from flows.listings import parameter_bytes

    _varied_corpus(tmp_path / "corpus", 8)
    paths = sorted(str(path) for path in (tmp_path / "corpus").glob("*.txt"))
    cap = parameter_bytes(paths)  # the paths alone fill the server's cap: given inline, the run is refused (422)
    result = _cli("ingest", *paths, "--db", str(db_path), "--no-entities", "--workers", "1", "--json",
                  home=tmp_path / "home", PREFECT_SERVER_API_MAX_PARAMETER_SIZE=str(cap))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["n_new"] == 8
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT source_uri) FROM articles").fetchone() == (8, 8)
    con.close()
