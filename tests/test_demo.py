"""What `make demo` ends with: the web UI's address and the people to log in as, read from the
platform's database with their roles (`make demo-ui` keeps the platform up at that address)."""

from __future__ import annotations

import pytest

from privetl.demo.__main__ import print_demo_users
from tests.scripts.helpers import user

pytestmark = pytest.mark.django_db


def test_the_demo_names_the_web_ui_and_each_person_with_their_roles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    user("tom", "PROCESS_ETL_TASK")
    user("alice")
    print_demo_users(8123, serving=True)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/ui/" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "PROCESS_ETL_TASK" in lines["tom"] and "no role" in lines["alice"]
    assert "ADMIN" in lines["root"]
    print_demo_users(8123, serving=False)
    assert "make demo-ui" in capsys.readouterr().out  # the plain demo's platform has stopped
