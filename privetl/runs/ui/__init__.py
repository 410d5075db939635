"""The web UI door of the run history: the runs list, paged with the platform's keyset cursor."""
