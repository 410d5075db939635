"""URLs of the access-request pages (an owner's inbox, my requests, my grants), mounted under
``/ui/access-requests/``. They file and decide through the User Manager's services."""

from __future__ import annotations

from django.urls import path

from privetl.datamodules.ui import access_views

urlpatterns = [
    path("", access_views.index, name="ui-access-requests"),
    path("<str:access_request_id>/decide/", access_views.decide, name="ui-access-request-decide"),
    path(
        "<str:access_request_id>/withdraw/",
        access_views.withdraw,
        name="ui-access-request-withdraw",
    ),
]
