"""The User Manager contract: every list has the paging fields, and documents the maximum."""

from __future__ import annotations

import re
from pathlib import Path

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl.common.paging import MAX_PAGE_SIZE

PROTO = Path(__file__).resolve().parents[2] / "proto/etl/user/manager/V1/user_manager.proto"
LISTS = ("ListUsers", "ListPendingAccessRequests", "ListUserAccessRequests", "ListLogins")


def _comment_above(text: str, message: str, field: str) -> str:
    body = re.search(rf"message {message} \{{(.*?)\n\}}", text, re.S)
    assert body, message
    lines = body.group(1).splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(rf"\s*\S+ {field} = \d+;", line))
    comment = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith("//"):
            break
        comment.append(line.strip())
    return " ".join(reversed(comment))


def test_every_list_pages_and_names_the_maximum() -> None:
    text = PROTO.read_text()
    for rpc in LISTS:
        request = pb.DESCRIPTOR.message_types_by_name[f"{rpc}Request"]
        response = pb.DESCRIPTOR.message_types_by_name[f"{rpc}Response"]
        assert {"page_size", "page_token"} <= set(request.fields_by_name), rpc
        assert "next_page_token" in response.fields_by_name, rpc
        assert str(MAX_PAGE_SIZE) in _comment_above(text, f"{rpc}Request", "page_size"), rpc
        assert _comment_above(text, f"{rpc}Response", "next_page_token"), rpc
        rpc_comment = re.search(rf"((?:[ \t]*//[^\n]*\n)+)[ \t]*rpc {rpc}\(", text)
        assert rpc_comment and str(MAX_PAGE_SIZE) in rpc_comment.group(1), rpc
