"""privetl: governed, audited pipelines that publish cleaned, provably anonymized data modules."""

import os

__version__ = "0.1.0"

# gRPC's fork handlers off unless the operator sets them: since grpcio 1.81 they restart the
# poller in every forked child, and a child started through `preexec_fn` (PySpark starts the Spark
# JVM so) dies before its `exec` when gRPC is busy in the parent — one start in 60 to 400 here
# (grpc/grpc#43055, open). No privetl process uses a gRPC channel across a fork: servers, workers
# and the web server are started as new programs. This runs before any `import grpc` of ours,
# which is when gRPC reads it.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
