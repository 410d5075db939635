"""ASGI entry point, for deployments that front Django with an ASGI server (uvicorn, daphne).

The default deployment is WSGI under gunicorn (``privetl web``); this exists so an ASGI
platform can serve the same application without a code change.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
application = get_asgi_application()
