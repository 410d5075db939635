"""The gRPC contracts (``proto/``) and the code generated from them (``privetl/_gen``)."""
