"""The web UI door of the platform: session login and logout, the base layout, the dashboard.

First slice of issue 13. Login here is the embedded default's local login only (a user id,
checked by ``principal_for`` like every token); the OIDC authorization-code flow for the
providers of ``settings.OIDC_ISSUERS`` is not built yet, so they are listed but disabled.
"""
