from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from salesbot.api.docs import OfflineSwaggerView
from salesbot.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # OpenAPI schema and its browsable docs page (assets served from the installed sidecar: works offline).
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", OfflineSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("salesbot.api.urls")),
    path("metrics", metrics_view, name="metrics"),  # Prometheus (METRICS_TOKEN); docs/operations.md
]
