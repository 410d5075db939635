"""The Audit Logger's UI door: pages that call the same selectors as its API."""
