"""The User Manager's UI door (users admin): pages that call the same services as its API."""
