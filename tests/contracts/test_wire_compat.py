"""Our contracts stay wire compatible with the given ones (only their compile defects fixed).

The given side runs in a subprocess (given_side.py): it shares protobuf full names with ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format

from privetl._gen.etl.script.manager.V1 import script_manager_pb2 as ours_script
from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as ours_user

GIVEN_SIDE = Path(__file__).parent / "given_side.py"
# Defect fixes the spec README asks for: the renamed request message, and Empty -> message.
RENAMED = {"ApproveAccessRequest": "ApproveAccessRequestRequest"}
EMPTY_REPLACED = {
    ("UpdateScriptRequest", "extractor"),
    ("UpdateScriptRequest", "uploader"),
    ("Script", "extractor"),
    ("Script", "uploader"),
}


def given(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(GIVEN_SIDE), *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("rel", "ours"),
    [
        ("etl/user/manager/V1/user_manager.proto", ours_user),
        ("etl/script/manager/V1/script_manager.proto", ours_script),
    ],
)
def test_every_given_field_and_enum_value_keeps_its_number_and_type(rel, ours) -> None:
    base = given("describe", rel)
    for message, fields in base["messages"].items():
        ours_message = ours.DESCRIPTOR.message_types_by_name[RENAMED.get(message, message)]
        for name, (number, ftype, type_name) in fields.items():
            field = ours_message.fields_by_name[name]
            assert field.number == number, f"{message}.{name} changed number"
            if (message, name) in EMPTY_REPLACED:
                assert type_name == "google.protobuf.Empty" and field.message_type is not None
                continue
            assert field.type == ftype, f"{message}.{name} changed type"
            if type_name:
                assert field.message_type.full_name.split(".")[-1] == RENAMED.get(
                    type_name.split(".")[-1], type_name.split(".")[-1]
                )
    for enum, values in base["enums"].items():
        ours_enum = ours.DESCRIPTOR.enum_types_by_name[enum]
        for name, number in values.items():
            if name == "Pertubation":  # defect 3: misspelled duplicate of Permutation = 3
                assert ours_enum.values_by_name["Perturbation"].number == 4
                continue
            assert ours_enum.values_by_name[name].number == number, f"{enum}.{name}"


def test_messages_written_by_a_given_client_parse_with_ours() -> None:
    encoded = given("encode")
    user = ours_user.User.FromString(bytes.fromhex(encoded["User"]))
    assert (user.id, user.name) == ("alice", "Alice")
    assert list(user.roles) == [ours_user.EDIT_TASK, ours_user.PROCESS_ETL_TASK]
    assert user.ext_datamodule_accesses[0].ext_datamodule_id == "customers"
    decision = ours_user.ApproveAccessRequestRequest.FromString(
        bytes.fromhex(encoded["ApproveAccessRequestRequest"])
    )
    assert (decision.access_request_id, decision.owner_user_id, decision.state) == (
        "r1",
        "olga",
        True,
    )
    script = ours_script.Script.FromString(bytes.fromhex(encoded["Script"]))
    assert script.WhichOneof("script") == "extractor" and script.released


def test_messages_written_by_us_parse_with_a_given_client() -> None:
    user = ours_user.User(
        id="bob", name="Bob", roles=[ours_user.ADMIN, ours_user.MANAGE_DATA], blocked=True
    )
    user.ext_datamodule_accesses.add(
        id="g1",
        ext_datamodule_id="m",
        access_types=[ours_user.OWNER],
        state=ours_user.APPROVED,
        reason="audit",
    )
    user.access_requests.add(id="p1", ext_datamodule_id="m2", state=ours_user.PENDING)
    parsed = given("decode", "User", user.SerializeToString().hex())
    # The given client sees the grant, never the pending request (field 5 is unknown to it).
    assert parsed["ext_datamodule_accesses"] == [
        {"id": "g1", "ext_datamodule_id": "m", "access_types": ["OWNER"]}
    ]
    assert "access_requests" not in parsed
    # A role it does not know (ADMIN = 4) arrives as its number, MANAGE_DATA as its name.
    assert parsed["roles"] == [4, "MANAGE_DATA"]
    script = ours_script.Script(
        id="s2", extractor=ours_script.ExtractorScript(table="customers", config_json="{}")
    )
    parsed_script = given("decode", "Script", script.SerializeToString().hex())
    assert parsed_script["id"] == "s2" and parsed_script["extractor"] == {}
    json_format.MessageToJson(script)  # our side renders too
