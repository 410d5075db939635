"""The ExtDatamodule Manager's UI door: connections and requesting access to them."""
