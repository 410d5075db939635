"""ExtDatamodule Manager: urls (being built, see issue 11)."""
urlpatterns: list[object] = []
