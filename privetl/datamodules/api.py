"""ExtDatamodule Manager: api (being built, see issue 11)."""
