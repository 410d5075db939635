"""WSGI entry point for ``privetl web`` (gunicorn) and any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
application = get_wsgi_application()
