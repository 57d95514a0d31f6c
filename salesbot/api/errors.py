"""One shape for every refusal of the API: `{"error": "what is wrong, in words", "field": "the field"}` with a
4xx. DRF's own exceptions (a serializer's ValidationError, a body that is not JSON, no or a bad token, a missing
permission, an unknown creator) all come through here, so no view builds an error by hand and none is a 500."""

from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_handler


def _first(detail) -> tuple[str, str]:
    """(field, message) of a ValidationError's first problem; a body that is not an object is the `body` field."""
    if isinstance(detail, dict):
        for name, value in detail.items():
            inner, message = _first(value)
            field = inner if name == api_settings.NON_FIELD_ERRORS_KEY else name
            return (field or "body"), message
    if isinstance(detail, list) and detail:
        return _first(detail[0])
    return "", str(detail)


def exception_handler(exc, context):
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first(exc.detail)
        response.data = {"error": f"{field}: {message}" if field else message, "field": field}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.ParseError):
        response.data = {"error": f"body: {exc.detail}", "field": "body"}
    else:
        response.data = {"error": str(getattr(exc, "detail", exc))}
    return response
