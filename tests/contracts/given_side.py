"""Run in a subprocess: compile a GIVEN contract (tests/contracts/given) and speak it.

It cannot share a process with privetl._gen: both register the same protobuf full names.
Commands (argv[1]):
- ``describe FILE``: JSON of every message's fields {message: {field: [number, type, type_name]}}
  and every enum's values.
- ``encode``: JSON {name: hex} of messages serialized by the given code.
- ``decode NAME HEX``: JSON of the message parsed by the given code.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from pathlib import Path

from google.protobuf import json_format
from grpc_tools import protoc

GIVEN = Path(__file__).parent / "given"


def load(rel: str):
    out = Path(tempfile.mkdtemp())
    include = Path(protoc.__file__).parent / "_proto"
    assert protoc.main(["protoc", f"-I{GIVEN}", f"-I{include}", f"--python_out={out}", rel]) == 0
    sys.path.insert(0, str(out))
    return importlib.import_module(rel[:-6].replace("/", ".") + "_pb2")


USER = "etl/user/manager/V1/user_manager.proto"
SCRIPT = "etl/script/manager/V1/script_manager.proto"


def describe(module) -> dict:
    d = module.DESCRIPTOR
    messages = {
        name: {
            f.name: [f.number, f.type, f.message_type.full_name if f.message_type else ""]
            for f in m.fields
        }
        for name, m in d.message_types_by_name.items()
    }
    enums = {name: {v.name: v.number for v in e.values} for name, e in d.enum_types_by_name.items()}
    return {"messages": messages, "enums": enums}


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "describe":
        print(json.dumps(describe(load(sys.argv[2]))))
    elif cmd == "encode":
        um, sm = load(USER), load(SCRIPT)
        user = um.User(id="alice", name="Alice", roles=[um.EDIT_TASK, um.PROCESS_ETL_TASK])
        user.ext_datamodule_accesses.add(
            id="r1", ext_datamodule_id="customers", access_types=[um.READ]
        )
        script = sm.Script(id="s1", task_id="t1", released=True)
        script.extractor.SetInParent()
        print(
            json.dumps(
                {
                    "User": user.SerializeToString().hex(),
                    "ApproveAccessRequestRequest": um.ApproveAccessRequestRequest(
                        access_request_id="r1", owner_user_id="olga", state=True
                    )
                    .SerializeToString()
                    .hex(),
                    "Script": script.SerializeToString().hex(),
                }
            )
        )
    elif cmd == "decode":
        name, data = sys.argv[2], bytes.fromhex(sys.argv[3])
        module = load(SCRIPT if name == "Script" else USER)
        message = getattr(module, name).FromString(data)
        print(json_format.MessageToJson(message, preserving_proto_field_name=True))


if __name__ == "__main__":
    main()
