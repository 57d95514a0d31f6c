"""The browsable API docs page, offline: assets from drf_spectacular_sidecar (settings), and Swagger
UI's online spec validator turned off so the page never calls validator.swagger.io."""

import json

from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView


class OfflineSwaggerView(SpectacularSwaggerView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        configured = spectacular_settings.SWAGGER_UI_SETTINGS
        if isinstance(configured, dict):
            response.data["settings"] = json.dumps({**configured, "validatorUrl": None}, indent=2)
        return response
