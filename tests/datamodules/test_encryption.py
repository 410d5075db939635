"""Connection strings at rest: Fernet tokens under PRIVETL_CONNECTION_KEYS, keys that rotate,
``privetl rotate-connection-key`` (all or none, audited with the count only), and the
settings' refusal of missing keys in production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from privetl.audit.models import AuditLog
from privetl.common.context import SYSTEM
from privetl.common.errors import FailedPrecondition, PermissionDenied
from privetl.datamodules import crypto, selectors, services
from privetl.datamodules.models import Connection

pytestmark = pytest.mark.django_db

SECRET = "postgresql://etl:rot-Secret1@db.example/shop"


def _create(actor, id: str) -> None:  # noqa: A002
    services.connection_create(actor=actor, id=id, name=id, type="SQL", connection_string=SECRET)


def _token(connection_id: str) -> str:
    return Connection.objects.get(pk=connection_id).connection_string_ciphertext


def test_stored_as_a_fernet_token_of_the_first_key(carol, settings) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CONNECTION_KEYS = [first, second]
    _create(carol, "a")
    token = _token("a")
    assert "rot-Secret1" not in token
    assert Fernet(first.encode()).decrypt(token.encode()).decode() == SECRET


def test_rotation_reencrypts_every_string_under_the_new_first_key(
    carol, admin, settings, capsys
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CONNECTION_KEYS = [old]
    _create(carol, "a")
    _create(carol, "b")
    settings.CONNECTION_KEYS = [new, old]  # the new key first, the old one still readable
    assert selectors.connection_secret_for_run("a") == SECRET
    call_command("rotate_connection_key")
    assert "re-encrypted 2 connection string(s)" in capsys.readouterr().out
    settings.CONNECTION_KEYS = [new]  # the old key dropped
    assert selectors.connection_secret_for_run("a") == SECRET
    assert selectors.connection_secret_for_run("b") == SECRET
    (record,) = AuditLog.objects.filter(action="connection.rotate_keys")
    assert json.loads(record.after_json) == {"reencrypted": 2}
    assert record.actor_user_id == SYSTEM.user_id
    assert "rot-Secret1" not in repr(AuditLog.objects.values_list())


def test_rotation_is_all_or_none(carol, settings) -> None:
    lost, kept = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CONNECTION_KEYS = [lost]
    _create(carol, "a")
    settings.CONNECTION_KEYS = [kept]
    _create(carol, "b")
    before = {c: _token(c) for c in ("a", "b")}
    with pytest.raises(CommandError, match="connection 'a'.*put back the key"):
        call_command("rotate_connection_key")
    assert {c: _token(c) for c in ("a", "b")} == before
    assert not AuditLog.objects.filter(action="connection.rotate_keys").exists()
    with pytest.raises(crypto.UndecryptableSecret):
        selectors.connection_secret_for_run("a")


def test_only_an_admin_or_the_platform_rotates(carol) -> None:
    with pytest.raises(PermissionDenied):
        services.connection_keys_rotate(actor=carol)
    assert services.connection_keys_rotate(actor=SYSTEM) == 0


def test_a_test_of_an_undecryptable_string_is_a_clear_failed_precondition(
    carol, settings, tmp_path
) -> None:
    settings.CONNECTION_KEYS = [Fernet.generate_key().decode()]
    services.connection_create(
        actor=carol, id="d", name="d", type="FILE", connection_string=str(tmp_path)
    )
    settings.CONNECTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(FailedPrecondition, match="PRIVETL_CONNECTION_KEYS"):
        services.connection_test(actor=carol, connection_id="d")


def test_missing_or_malformed_keys_name_the_variable(settings) -> None:
    settings.CONNECTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="PRIVETL_CONNECTION_KEYS is not set"):
        crypto.encrypted("x")
    settings.CONNECTION_KEYS = ["not-a-key-but-a-Secret5"]
    with pytest.raises(ImproperlyConfigured, match="key 1 is not a Fernet key") as exc:
        crypto.encrypted("x")
    assert "Secret5" not in str(exc.value)


def _settings_of(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PRIVETL_")}
    full.update(
        {"DJANGO_SETTINGS_MODULE": "privetl.config.settings", "PRIVETL_VAR_DIR": str(tmp_path)}
    )
    full.update(env)
    code = "import django; django.setup(); from django.conf import settings; print(len(settings.CONNECTION_KEYS))"
    return subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=60
    )


def test_embedded_mode_generates_a_key_under_the_var_dir_once(tmp_path: Path) -> None:
    first = _settings_of({"PRIVETL_MODE": "embedded"}, tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "connection_key"
    key = key_file.read_text()
    Fernet(key.encode())  # a valid Fernet key
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert _settings_of({"PRIVETL_MODE": "embedded"}, tmp_path).returncode == 0
    assert key_file.read_text() == key


def test_production_reads_the_keys_from_the_environment(tmp_path: Path) -> None:
    production = {
        "PRIVETL_MODE": "production",
        "PRIVETL_SECRET_KEY": "s" * 48,
        "PRIVETL_TOKEN_SIGNING_KEY": "t" * 48,
        "PRIVETL_ALLOWED_HOSTS": "localhost",
        "PRIVETL_SMTP_HOST": "127.0.0.1",
    }
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    done = _settings_of({**production, "PRIVETL_CONNECTION_KEYS": keys}, tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr
    assert not (tmp_path / "connection_key").exists()
