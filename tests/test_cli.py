"""The one ``privetl`` command line: its help, ``help COMMAND``, unknown commands, the engine's
commands without Django and the Django-backed ones passed through — as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from privetl.cli import PLATFORM_COMMANDS

REPO = Path(__file__).resolve().parents[1]
PRIVETL = REPO / ".venv" / "bin" / "privetl"
EXAMPLE = REPO / "examples" / "customers" / "module.json"


def _environment(tmp_path: Path) -> dict[str, str]:
    """Embedded mode with its database and secrets under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVETL_")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({"PRIVETL_MODE": "embedded", "PRIVETL_VAR_DIR": str(tmp_path / "var")})
    return env


def _privetl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PRIVETL), *args],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _words(text: str) -> str:
    """``text`` with every run of whitespace as one space: help lines wrap with the terminal."""
    return " ".join(text.split())


@pytest.mark.parametrize("args", [(), ("--help",), ("-h",), ("help",)])
def test_the_help_lists_both_sections_with_each_commands_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = _privetl(tmp_path, *args)
    assert (result.returncode, result.stderr) == (0, "")
    text = _words(result.stdout)
    engine = text.index("Engine commands")
    platform = text.index("Platform commands")
    other = text.index("Other commands")
    assert engine < platform < other
    assert engine < text.index("run Run MODULE: extract, clean,") < platform
    assert engine < text.index("validate Check MODULE and print every problem") < platform
    for name, line in PLATFORM_COMMANDS.items():
        assert platform < text.index(f"{name} {_words(line)}") < other, name
    assert other < text.index("manage Any other Django management command")
    # Django's own commands are offered only through `manage`
    for name in ("makemigrations", "createsuperuser", "runserver", "flush", "shell"):
        assert name not in text


def test_help_of_an_engine_command_is_its_own(tmp_path: Path) -> None:
    helped = _privetl(tmp_path, "help", "run")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: privetl run [OPTIONS] MODULE")
    assert "--engine [duckdb|spark]" in helped.stdout
    assert helped.stdout == _privetl(tmp_path, "run", "--help").stdout
    assert _privetl(tmp_path, "help", "validate").stdout.startswith(
        "Usage: privetl validate [OPTIONS] MODULE"
    )


def test_help_of_a_platform_command_is_the_django_commands_full_help(tmp_path: Path) -> None:
    helped = _privetl(tmp_path, "help", "serve")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: privetl serve ")
    assert "--http-port" in helped.stdout and "--grpc-port" in helped.stdout
    assert helped.stdout == _privetl(tmp_path, "serve", "--help").stdout
    verify = _privetl(tmp_path, "help", "audit", "verify")
    assert verify.stdout.startswith("usage: privetl audit verify")


@pytest.mark.parametrize("name", ["makemigrations", "no-such-thing"])
def test_an_unknown_command_is_a_usage_error_that_points_to_manage(
    tmp_path: Path, name: str
) -> None:
    result = _privetl(tmp_path, name)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"Error: No such command '{name}'." in result.stderr
    assert f"'privetl manage {name}'" in result.stderr
    assert not (tmp_path / "var").exists()  # no Django settings were loaded to say so


def test_a_typo_gets_a_suggestion(tmp_path: Path) -> None:
    result = _privetl(tmp_path, "servee")
    assert result.returncode == 2
    assert "Did you mean 'serve'?" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("validate", str(EXAMPLE)),
        ("run", "--help"),
        ("help", "run"),
        ("--help",),
        ("no-such-thing",),
    ],
)
def test_the_engine_commands_and_the_help_never_import_django(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    script = (
        "import sys\n"
        "from privetl.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')\n"
        "                or m.startswith(('privetl.config', 'privetl.common', 'privetl.users',\n"
        "                                 'privetl.audit')))\n"
        "print(code, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    expected_code = 2 if args == ("no-such-thing",) else 0
    assert result.stdout.splitlines()[-1] == f"{expected_code} []"


def test_manage_runs_djangos_other_commands(tmp_path: Path) -> None:
    checked = _privetl(tmp_path, "manage", "check")
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout
    helped = _privetl(tmp_path, "manage", "help", "makemigrations")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: privetl manage makemigrations ")
    unknown = _privetl(tmp_path, "manage", "no-such-thing")
    assert unknown.returncode == 1
    assert "Unknown command: 'no-such-thing'" in unknown.stderr


def test_a_platform_command_gets_its_arguments_unchanged(tmp_path: Path) -> None:
    # `audit verify` reaches the Django command's subcommand: on a database never migrated it
    # says what to do, with the command's own exit status
    result = _privetl(tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert "there is no audit log in this database yet: run 'privetl migrate'" in result.stderr
    bad = _privetl(tmp_path, "token", "--no-such-option")
    assert bad.returncode != 0
    assert "usage: privetl token" in bad.stderr
