"""`make demo`: the main job on the embedded default, then the access-request flow."""
