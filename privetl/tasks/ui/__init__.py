"""The Task Manager's UI door: pages that call the same selectors and services as its API."""
