"""${ENV} expansion: values substituted, a missing variable named, secrets redacted."""

from __future__ import annotations

import pytest

from privetl.engine.extract.env import MissingVariable, expand_env, redact, referenced_values


def test_expand_and_missing() -> None:
    env = {"USER_": "ann", "PW": "p@ss"}
    assert expand_env("postgresql://${USER_}:${PW}@h/db $HOME ${", env) == "postgresql://ann:p@ss@h/db $HOME ${"
    with pytest.raises(MissingVariable) as caught:
        expand_env("x ${PW} ${NOPE}", env)
    assert caught.value.name == "NOPE"
    assert str(caught.value) == "environment variable NOPE is not set"


def test_referenced_values_and_redact() -> None:
    env = {"A": "secret-long", "B": "secret", "C": ""}
    assert referenced_values("${A}/${B}/${C}/${D}", env) == ["secret-long", "secret"]
    assert redact("bad secret-long and secret", ["secret", "secret-long", ""]) == "bad *** and ***"
