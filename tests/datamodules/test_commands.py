"""``privetl rotate-connection-key`` through the real command line (a fresh embedded platform
in a temporary directory): it rotates, keeps every string readable, and prints the count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

PRIVETL = Path(sys.executable).with_name("privetl")

MAKE = """
from privetl.common.context import SYSTEM
from privetl.datamodules.models import Connection
from privetl.datamodules import crypto
Connection.objects.create(id="c1", name="c1", type="FILE", created_by="system",
    connection_string_ciphertext=crypto.encrypted("/data/in"), connection_string_redacted="/data/in")
"""
READ = """
from privetl.datamodules.selectors import connection_secret_for_run
print(connection_secret_for_run("c1"))
"""


def _run(tmp_path: Path, keys: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRIVETL_", "DATABASE_URL"))}
    env.update(
        {"PRIVETL_VAR_DIR": str(tmp_path / "var"), "PRIVETL_CONNECTION_KEYS": ",".join(keys)}
    )
    return subprocess.run(
        [str(PRIVETL), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_rotate_connection_key_from_the_command_line(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert _run(tmp_path, [old], "migrate", "--no-input", "-v", "0").returncode == 0
    made = _run(tmp_path, [old], "manage", "shell", "-c", MAKE)
    assert made.returncode == 0, made.stderr
    rotated = _run(tmp_path, [new, old], "rotate-connection-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 connection string(s)" in rotated.stdout
    read = _run(tmp_path, [new], "manage", "shell", "-c", READ)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip().endswith("/data/in")
    refused = _run(tmp_path, [Fernet.generate_key().decode()], "rotate-connection-key")
    assert refused.returncode == 1
    assert "connection 'c1'" in refused.stderr and "put back the key" in refused.stderr
