"""Signed checkpoints of the audit chain, kept outside the database (like CloudTrail digests).

The hash chain alone proves only that nobody rewrote history *without also rewriting every
later record and the head*: someone with write access to the database can recompute the
tail after an edit, or wipe the log and its head, and ``verify_chain`` would still find a
consistent chain. A checkpoint pins the chain from outside: ``privetl audit checkpoint``
verifies the chain, then writes one file ``(sequence, head hash, time)`` with an
HMAC-SHA256 signature under ``settings.AUDIT_CHECKPOINT_KEY``, a key the database does not
hold, into ``settings.AUDIT_CHECKPOINT_DIR`` (one file per checkpoint, written atomically:
a temporary file, fsync, rename). ``privetl audit verify`` then checks each checkpoint's
signature and that record #sequence of the newest one still has the signed hash, which catches a consistent
rewrite up to a checkpoint, a wipe of log and head, and records missing after a
checkpoint. What was written after the newest checkpoint is protected only by the chain:
run ``privetl audit checkpoint`` often (every few minutes, e.g. a Kubernetes CronJob).

Give the key to the checkpoint job (and whoever verifies), not to the web and gRPC
servers: a compromised server then cannot sign a checkpoint of a forged chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privetl.audit.chain import ChainReport, canonical_json, format_time

VERSION = 1
SUFFIX = ".checkpoint.json"
KEY_MIN_LENGTH = 32
KEY_VARIABLE = "PRIVETL_AUDIT_CHECKPOINT_KEY"
DIR_VARIABLE = "PRIVETL_AUDIT_CHECKPOINT_DIR"


class CheckpointError(Exception):
    """Checkpoints cannot be written or checked: the key or the directory is not configured."""


class CheckpointInvalid(CheckpointError):
    """A checkpoint file does not parse or its signature does not verify: tampering."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement: the chain had ``sequence`` records ending in ``head_hash`` at ``at``."""

    sequence: int
    head_hash: str
    at: dt.datetime
    path: Path

    @property
    def label(self) -> str:
        """How reports name it: the record it signs, when, and its file."""
        return f"checkpoint #{self.sequence} of {format_time(self.at)} ({self.path.name})"


def _key(key: str | None) -> bytes:
    if not key:
        raise CheckpointError(
            f"{KEY_VARIABLE} is not set: checkpoints are signed with a key the database does "
            "not hold; set it to at least 32 random characters (the same value wherever "
            "checkpoints are written or verified)"
        )
    if len(key) < KEY_MIN_LENGTH:
        raise CheckpointError(f"{KEY_VARIABLE} is too weak: use at least 32 random characters")
    return key.encode("utf-8")


def _directory(directory: str | Path | None) -> Path:
    if not directory:
        raise CheckpointError(
            f"{DIR_VARIABLE} is not set: name a directory outside the database (a volume "
            "or a mounted bucket) where the checkpoint files are kept"
        )
    return Path(directory)


def _signed_part(sequence: int, head_hash: str, at: str) -> dict[str, Any]:
    return {"version": VERSION, "sequence": sequence, "head_hash": head_hash, "at": at}


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(fields).encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_write(
    *, report: ChainReport, key: str | None, directory: str | Path | None, now: dt.datetime
) -> Checkpoint:
    """Sign the head of a verified chain and write it as a new file, atomically.

    ``report`` must come from a ``verify_chain`` that found no problem: signing a broken
    chain would launder the tampering.
    """
    if report.problem:
        raise ValueError("refusing to sign a broken chain")
    secret = _key(key)
    folder = _directory(directory)
    folder.mkdir(parents=True, exist_ok=True)
    at = format_time(now)
    fields = _signed_part(report.count, report.head_hash, at)
    body = {**fields, "mac": _mac(secret, fields)}
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{report.count:012d}-{stamp}{SUFFIX}"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(canonical_json(body) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
    return Checkpoint(sequence=report.count, head_hash=report.head_hash, at=now, path=path)


def checkpoints_read(*, key: str | None, directory: str | Path | None) -> list[Checkpoint]:
    """Every checkpoint of the directory, oldest first, each signature checked.

    A directory that does not exist yet holds none. A file that does not parse or whose
    signature does not verify is reported (``CheckpointInvalid``): it was forged, edited or
    signed with another key.
    """
    if not directory or not Path(directory).is_dir():
        return []
    files = sorted(Path(directory).glob(f"*{SUFFIX}"))
    if not files:
        return []
    secret = _key(key)
    found = []
    for path in files:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            fields = _signed_part(int(body["sequence"]), str(body["head_hash"]), str(body["at"]))
            if body.get("version") != VERSION:
                raise ValueError(f"unknown version {body.get('version')!r}")
            given = str(body["mac"])
            at = dt.datetime.fromisoformat(fields["at"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointInvalid(f"checkpoint file {path.name} is unreadable: {exc}") from None
        if not hmac.compare_digest(given, _mac(secret, fields)):
            raise CheckpointInvalid(
                f"checkpoint file {path.name} is not signed by {KEY_VARIABLE}: it was forged "
                "or edited (or signed with another key)"
            )
        found.append(
            Checkpoint(sequence=fields["sequence"], head_hash=fields["head_hash"], at=at, path=path)
        )
    return sorted(found, key=lambda c: (c.sequence, c.at))


def checkpoint_newest(checkpoints: list[Checkpoint]) -> Checkpoint | None:
    """The checkpoint covering the most history (the highest sequence; the latest of equals)."""
    return max(checkpoints, key=lambda c: (c.sequence, c.at), default=None)


def checkpoint_compare(
    *, report: ChainReport, record_hash: str | None, checkpoint: Checkpoint
) -> str | None:
    """How an intact chain disagrees with a checkpoint, or None.

    ``record_hash`` is the hash record #``checkpoint.sequence`` has now (None when there is
    no such record). Comparing with the newest checkpoint is enough: in an intact chain
    the hash of record #N commits to every record before it.
    """
    if checkpoint.sequence == 0:
        return None
    if report.count == 0:
        return (
            f"the audit log is empty but {checkpoint.label} signed records "
            f"#1..#{checkpoint.sequence}: the log and its head were wiped"
        )
    if checkpoint.sequence > report.count:
        missing = (
            f"#{report.count + 1}"
            if checkpoint.sequence == report.count + 1
            else f"#{report.count + 1}..#{checkpoint.sequence}"
        )
        return (
            f"record(s) {missing} are missing: {checkpoint.label} signed a chain of "
            f"{checkpoint.sequence} records, the log holds {report.count} (the newest "
            "records were deleted and the head set back)"
        )
    if record_hash != checkpoint.head_hash:
        return (
            f"the chain was rewritten: record #{checkpoint.sequence} no longer has the hash "
            f"{checkpoint.label} signed, so records up to #{checkpoint.sequence} were "
            "replaced and the chain recomputed after them"
        )
    return None
