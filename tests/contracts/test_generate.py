"""`make check-gen` (generate --check) passes on the committed code and catches staleness."""

from __future__ import annotations

import shutil

from privetl.contracts import generate


def test_committed_generated_code_is_fresh() -> None:
    assert generate.main(["--check"]) == 0


def test_check_names_a_stale_file(tmp_path, monkeypatch, capsys) -> None:
    copy = tmp_path / "_gen"
    shutil.copytree(generate.GEN_DIR, copy)
    stale = copy / "etl" / "user" / "manager" / "V1" / "user_manager_pb2.py"
    stale.write_text(stale.read_text() + "\n# edited by hand\n")
    monkeypatch.setattr(generate, "GEN_DIR", copy)
    assert generate.main(["--check"]) == 1
    assert "etl/user/manager/V1/user_manager_pb2.py" in capsys.readouterr().err


def test_generated_modules_import_as_a_subpackage() -> None:
    from privetl._gen.etl.task.manager.V1 import task_manager_pb2_grpc

    assert hasattr(task_manager_pb2_grpc, "EtlTaskManagerStub")
