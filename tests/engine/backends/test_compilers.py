"""The lazy stand-in for Ibis' compilers package: a run loads only the compilers it uses."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, tempfile
from pathlib import Path
from privetl.engine.backends import open_backend
import ibis
backend = open_backend("duckdb", work_dir=Path(tempfile.mkdtemp()))
sql = backend.compile(ibis.memtable({"a": [1, 2]}).mutate(b=ibis._.a + 1))
loaded = sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("ibis.backends.sql.compilers."))
import ibis.backends.sql.compilers as sc
other = sc.PostgresCompiler.__name__          # a compiler nobody loaded yet still resolves
everything = sorted(sc.__all__)                # and a name of the package itself loads it whole
print(json.dumps({"sql": sql, "loaded": loaded, "other": other, "all": len(everything)}))
"""


def test_a_run_loads_only_the_duckdb_compiler_and_every_other_name_still_resolves() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert '"a" + 1' in found["sql"]
    # base and duckdb (with the modules they import), never all twenty
    assert "duckdb" in found["loaded"] and "trino" not in found["loaded"] and "bigquery" not in found["loaded"]
    assert found["other"] == "PostgresCompiler"
    assert found["all"] >= 20
