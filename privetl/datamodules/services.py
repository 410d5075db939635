"""ExtDatamodule Manager: services (being built, see issue 11)."""
