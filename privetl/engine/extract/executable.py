"""Executable sources: a program writing JSON lines — or Singer messages — to stdout.

The program runs without a shell (an argument list), with a clean environment (the
script's ``env``, ``${ENV}``-expanded, plus PATH — nothing else of ours leaks into it), in
the module's directory, in a process group of its own so that a timeout kills it and any
children. stdout is read line by line as the program writes; stderr goes to a temporary
file (never a pipe nobody reads, which could block the program) and its last lines explain
a failure.

Singer is detected from the first message: when it is a SCHEMA, RECORD or STATE message,
the RECORD messages' ``record`` objects are the records (of ``stream`` only, when set) and
every other message type is skipped — so an existing Singer tap runs unchanged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from privetl.engine.errors import ExtractionError
from privetl.engine.extract.env import MissingVariable, expand_env, redact
from privetl.engine.extract.staging import StagedWriter, loads_exact, source_fields, text_schema
from privetl.engine.metadata import ExecSource, SourceScript, Table

SINGER_TYPES = frozenset({"SCHEMA", "RECORD", "STATE"})
"""Message types whose presence on the first line marks a Singer tap."""
STDERR_TAIL_LINES = 20
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def clean_environment(source: ExecSource) -> dict[str, str]:
    """The program's whole environment: ``env`` (expanded) and PATH; MissingVariable if unset."""
    env = {"PATH": os.environ.get("PATH", DEFAULT_PATH)}
    env.update({name: expand_env(value) for name, value in source.env.items()})
    return env


def extract_exec(script: SourceScript, table: Table, writer: StagedWriter, base_dir: Path) -> bool:
    """Run the program and stage the records it prints; values staged as text."""
    source = script.source
    assert isinstance(source, ExecSource)
    try:
        env = clean_environment(source)
    except MissingVariable as exc:
        raise ExtractionError(script.id, f"environment variable {exc.name} (used in env) is not set") from exc
    secrets = [v for k, v in env.items() if k != "PATH" and source.env.get(k) != v]
    fields = source_fields(script, table)
    program = source.command[0]
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(
                source.command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=base_dir,
                start_new_session=True,
            )
        except OSError as exc:
            raise ExtractionError(script.id, f"cannot start {program!r}: {exc.strerror or exc}") from exc
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            _kill_group(process)

        timer = threading.Timer(source.timeout_seconds, kill)
        timer.daemon = True
        timer.start()
        try:
            assert process.stdout is not None
            records = _records(script.id, source, process.stdout, timed_out)
            writer.write_record_stream(records, fields)
            code = process.wait()
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        finally:
            timer.cancel()
            if process.stdout is not None:
                process.stdout.close()
        if timed_out.is_set():
            raise ExtractionError(
                script.id, f"{program!r} timed out after {source.timeout_seconds:g} s and was killed"
            )
        if code != 0:
            tail = redact(_tail(stderr), secrets)
            raise ExtractionError(
                script.id,
                f"{program!r} exited with code {code}" + (f"; last lines of stderr:\n{tail}" if tail else ""),
            )
    writer.finish(text_schema(fields))
    return False


def _records(
    script_id: str, source: ExecSource, stdout: IO[bytes], timed_out: threading.Event
) -> Iterator[dict[str, Any]]:
    """The records on stdout: plain JSON objects, or Singer RECORD messages' records."""
    singer: bool | None = None
    for number, raw in enumerate(stdout, start=1):
        if not raw.strip():
            continue
        try:
            message = loads_exact(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            if timed_out.is_set():
                return  # a line cut by the kill; the timeout is reported instead
            raise ExtractionError(
                script_id, f"line {number} of {source.command[0]!r}'s output is not JSON: {exc}"
            ) from exc
        if not isinstance(message, dict):
            raise ExtractionError(
                script_id, f"line {number} of {source.command[0]!r}'s output is not a JSON object"
            )
        if singer is None:
            singer = message.get("type") in SINGER_TYPES
        if not singer:
            yield message
            continue
        if message.get("type") != "RECORD":
            continue  # SCHEMA, STATE, ACTIVATE_VERSION, BATCH: not records
        if source.stream is not None and message.get("stream") != source.stream:
            continue
        record = message.get("record")
        if not isinstance(record, dict):
            raise ExtractionError(script_id, f"line {number}: a Singer RECORD message without a 'record' object")
        yield record


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the program and everything it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(stderr: IO[bytes]) -> str:
    """The last lines of stderr (at most 64 KiB read), to explain a failure."""
    size = stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, size - 65536))
    text = stderr.read().decode("utf-8", errors="replace")
    return "\n".join(text.strip().splitlines()[-STDERR_TAIL_LINES:])
