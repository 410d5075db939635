"""Executable sources: JSON lines on stdout, Singer taps unchanged, clean env, timeouts."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from privetl.engine.errors import ExtractionError
from privetl.engine.extract import extract_script

from .helpers import PEOPLE, script, staged_rows, write

PYTHON = sys.executable
TAP_JSONL = Path(sys.executable).parent / "tap-jsonl"


def run(tmp_path: Path, source: dict, **kwargs):
    return extract_script(
        script({"kind": "exec", **source}, **kwargs), PEOPLE, base_dir=tmp_path, staging_dir=tmp_path / "stage"
    )


def program(tmp_path: Path, body: str) -> list[str]:
    path = write(tmp_path / "prog.py", body)
    return [PYTHON, str(path)]


def test_json_lines_with_clean_environment_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVETL_TEST_TOKEN", "s3cr3t")
    monkeypatch.setenv("PRIVETL_TEST_LEAK", "should-not-pass")
    write(tmp_path / "here.txt", "cwd-ok")
    command = program(
        tmp_path,
        "import json, os\n"
        "print(json.dumps({'id': 1, 'name': open('here.txt').read(), 'score': 2.50}))\n"
        "print()\n"
        "print(json.dumps({'id': 2, 'name': os.environ.get('TOKEN'), 'score': sorted(os.environ)}))\n",
    )
    staged = run(tmp_path, {"command": command, "env": {"TOKEN": "${PRIVETL_TEST_TOKEN}"}})
    assert staged.native_types is False
    rows = staged_rows(staged)
    assert rows[0] == {"id": "1", "name": "cwd-ok", "score": "2.5", "_src_row": 0}
    env_names = json.loads(rows[1]["score"])
    assert "PRIVETL_TEST_LEAK" not in env_names
    assert {"PATH", "TOKEN"} <= set(env_names)
    assert rows[1]["name"] == "s3cr3t"


def test_missing_env_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIVETL_TEST_NOPE", raising=False)
    with pytest.raises(ExtractionError, match="environment variable PRIVETL_TEST_NOPE .* is not set"):
        run(tmp_path, {"command": [PYTHON, "-c", "pass"], "env": {"X": "${PRIVETL_TEST_NOPE}"}})


def test_exit_code_and_stderr_tail_without_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVETL_TEST_TOKEN", "s3cr3t")
    command = program(
        tmp_path,
        "import os, sys\n"
        "for i in range(30): print(f'log {i}', file=sys.stderr)\n"
        "print('bad token ' + os.environ['TOKEN'], file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    with pytest.raises(ExtractionError) as caught:
        run(tmp_path, {"command": command, "env": {"TOKEN": "${PRIVETL_TEST_TOKEN}"}})
    message = str(caught.value)
    assert "exited with code 3; last lines of stderr:\nlog 11\n" in message
    assert message.endswith("log 29\nbad token ***")
    assert "s3cr3t" not in message
    assert "log 10\n" not in message


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child-survived"
    child = f"import time; time.sleep(3); open({str(marker)!r}, 'w')"
    command = program(
        tmp_path,
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print('{\"id\": 1}', flush=True)\n"
        "time.sleep(60)\n",
    )
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=r"timed out after 1 s and was killed"):
        run(tmp_path, {"command": command, "timeout_seconds": 1})
    assert time.monotonic() - started < 10
    time.sleep(3.5)
    assert not marker.exists()


def test_not_json_and_missing_program(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"line 2 of .* output is not JSON"):
        run(tmp_path, {"command": program(tmp_path, "print('{\"id\": 1}')\nprint('oops')\n")})
    with pytest.raises(ExtractionError, match=r"cannot start 'no-such-program-xyz'"):
        run(tmp_path, {"command": ["no-such-program-xyz"]})


def test_singer_messages_records_only_filtered_by_stream(tmp_path: Path) -> None:
    messages = [
        {"type": "SCHEMA", "stream": "people", "schema": {}, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "people", "record": {"id": 1, "name": "Ann"}},
        {"type": "RECORD", "stream": "pets", "record": {"id": 9, "name": "Rex"}},
        {"type": "STATE", "value": {"x": 1}},
        {"type": "RECORD", "stream": "people", "record": {"id": 2, "type": "STATE"}},
    ]
    lines = "".join(json.dumps(m) + "\n" for m in messages)
    write(tmp_path / "out.txt", lines)
    command = [PYTHON, "-c", "import sys; sys.stdout.write(open('out.txt').read())"]
    staged = run(tmp_path, {"command": command, "stream": "people"})
    assert staged_rows(staged) == [
        {"id": "1", "name": "Ann", "score": None, "_src_row": 0},
        {"id": "2", "name": None, "score": None, "_src_row": 1},
    ]
    staged = run(tmp_path, {"command": command})
    assert [r["id"] for r in staged_rows(staged)] == ["1", "9", "2"]


@pytest.mark.skipif(not TAP_JSONL.exists(), reason="tap-jsonl (dev dependency) is not installed")
def test_tap_jsonl_from_pypi_runs_unchanged(tmp_path: Path) -> None:
    write(tmp_path / "data" / "a.jsonl", '{"id": 1, "name": "Ann", "score": 2.5}\n{"id": 2, "name": "Bo"}\n')
    write(tmp_path / "data" / "b.jsonl", '{"id": 3, "name": "Cy", "score": 10}\n')
    config = write(
        tmp_path / "tap.json", json.dumps({"path": str(tmp_path / "data" / "*.jsonl"), "stream_name": "people"})
    )
    staged = run(
        tmp_path,
        {"command": [str(TAP_JSONL), "--config", str(config)], "stream": "people", "timeout_seconds": 120},
    )
    assert sorted((r["id"], r["name"], r["score"]) for r in staged_rows(staged)) == [
        ("1", "Ann", "2.5"),
        ("2", "Bo", None),
        ("3", "Cy", "10"),
    ]
