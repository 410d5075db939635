"""Redaction of connection strings: credentials in user-info and query parameters become ***,
everything that tells a person which system it is stays."""

from __future__ import annotations

import pytest

from privetl.common.redaction import redact_connection_string


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (
            "postgresql://u:PLANTED-s3cret@host:5432/db?password=PLANTED2&sslmode=require",
            "postgresql://u:***@host:5432/db?password=***&sslmode=require",
        ),
        ("postgresql://postgres@127.0.0.1:5432/db", "postgresql://postgres@127.0.0.1:5432/db"),
        ("sqlite:////abs/shop.db", "sqlite:////abs/shop.db"),
        ("sqlite:///rel.db", "sqlite:///rel.db"),
        (
            "https://TOKEN123@api.example/v1?api_key=K1&page=2",
            "https://***@api.example/v1?api_key=***&page=2",
        ),
        (
            "s3://AKID:SECRET@bucket/in?endpoint_override=127.0.0.1:9000&aws_secret_access_key=S2",
            "s3://***@bucket/in?endpoint_override=127.0.0.1:9000&aws_secret_access_key=***",
        ),
        (
            "https://h/x?X-Amz-Signature=abc&X-Amz-Credential=def",
            "https://h/x?X-Amz-Signature=***&X-Amz-Credential=***",
        ),
        ("https://h/x?access_token=t0k&sig=s1g", "https://h/x?access_token=***&sig=***"),
        ("host=h port=5432 password=pw dbname=d", "host=h port=5432 password=*** dbname=d"),
        ("/data/in", "/data/in"),
        ("file:///data/in", "file:///data/in"),
        ("http://h:notaport@x/", "http://***@x/"),
        ("http://h:bad/", "http://***"),
    ],
)
def test_redacted(given: str, shown: str) -> None:
    assert redact_connection_string(given) == shown
