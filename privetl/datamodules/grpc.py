"""ExtDatamodule Manager: grpc (being built, see issue 11)."""
