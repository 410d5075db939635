"""The Data Manager\x27s UI door: the outbox in the browser."""
