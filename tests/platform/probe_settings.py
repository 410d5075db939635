"""Settings for server-command tests: the real settings with only the probe gRPC service,
so ``privetl grpc`` / ``privetl serve`` can be exercised independently of the contracts."""

from privetl.config.settings import *  # noqa: F403

GRPC_SERVICERS = ["tests.platform.grpc_probe.register"]
