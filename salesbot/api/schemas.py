"""OpenAPI descriptions of the ops API (drf-spectacular): small serializers for fixed shapes,
free-form objects for the statistics dicts whose keys follow the data."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

TAG_OPS = "ops"
TAG_WEBHOOKS = "webhooks"
TAG_SERVICE = "service"

CREATOR_SLUG = OpenApiParameter("creator_slug", OpenApiTypes.STR, OpenApiParameter.PATH,
                                description="The creator's slug, e.g. `demo`.")
FAN_ID = OpenApiParameter("fan_id", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The platform fan id.")

NOT_AUTHENTICATED = OpenApiResponse(description="No or invalid token (`Authorization: Token …`).")
NOT_STAFF = OpenApiResponse(description="The token's user is not staff.")
NOT_FOUND = OpenApiResponse(description="Unknown creator (or fan).")


class ServiceHealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    version = serializers.CharField()
    creators = serializers.IntegerField()


class CreatorHealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    version = serializers.CharField()
    creator = serializers.CharField()
    enabled = serializers.BooleanField()


class SwitchSerializer(serializers.Serializer):
    creator = serializers.CharField()
    enabled = serializers.BooleanField()


class HandoffRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True,
                                   help_text="Why a human takes over (kept to 200 characters).")


class HandoffSerializer(serializers.Serializer):
    fan_id = serializers.IntegerField()
    state = serializers.CharField()
    handoff_reason = serializers.CharField()


class ReactivateSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Dormant spenders queued for one rekindle each.")


class ExperimentRequestSerializer(serializers.Serializer):
    control_share = serializers.FloatField(required=False, default=0.2, min_value=0.01, max_value=0.99,
                                           help_text="Share of new fans held out in the control arm (POST only).")


class WebhookAckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "ignored"])
    event_id = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


PERIOD_PARAMETERS = [
    OpenApiParameter("by", OpenApiTypes.STR, enum=["sender"], description="`sender`: sales credit per sender."),
    OpenApiParameter("period", OpenApiTypes.STR, enum=["today", "yesterday", "7d", "30d", "all", "custom"],
                     description="With by=sender: the period, in the agency's time zone (default: all time)."),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of a custom period."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of a custom period (included)."),
    OpenApiParameter("history", OpenApiTypes.STR, enum=["0", "1"],
                     description="0: leave imported history out (its money is reported apart)."),
]


def ops(summary: str, response=OpenApiTypes.OBJECT, method="GET", fan=False, request=None, description="",
        parameters=()):
    """extend_schema for one staff-token endpoint under /api/{creator_slug}/."""
    return extend_schema(
        summary=summary, description=description, tags=[TAG_OPS], request=request,
        parameters=[CREATOR_SLUG, *([FAN_ID] if fan else []), *parameters],
        responses={200: response, 401: NOT_AUTHENTICATED, 403: NOT_STAFF, 404: NOT_FOUND},
    )


def open_health(summary: str, response, operation_id: str, per_creator=False):
    return extend_schema(summary=summary, tags=[TAG_SERVICE], operation_id=operation_id, auth=[],
                         parameters=[CREATOR_SLUG] if per_creator else None,
                         responses={200: response, **({404: NOT_FOUND} if per_creator else {})})


def webhook(per_creator: bool):
    where = ("the creator named in the path" if per_creator
             else "the creator whose `account_id` the body names")
    return extend_schema(
        summary="Platform webhook (HMAC-signed, no token)" + ("" if per_creator else ", creator by account_id"),
        description=(f"Signed with {where}'s webhook secret in `X-Signature: sha256=<hex>`. "
                     "`kind` is one of `fan-message`, `new-subscriber`, `purchase`, `of-event`. "
                     "The event is stored before it is acknowledged; a repeated `event_id` is acknowledged once."),
        tags=[TAG_WEBHOOKS], auth=[], request=OpenApiTypes.OBJECT,
        operation_id="creator_webhook" if per_creator else "account_webhook",
        parameters=[*([CREATOR_SLUG] if per_creator else []),
                    OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     enum=["fan-message", "new-subscriber", "purchase", "of-event"]),
                    OpenApiParameter("X-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                                     description="`sha256=` + hex HMAC-SHA256 of the raw body.")],
        responses={200: WebhookAckSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer,
                   413: ErrorSerializer},
    )


def provider_webhook():
    return extend_schema(
        summary="Provider webhook (signed by the provider, no token), creator by account_id",
        description=("One URL per deployment and provider. `onlyfansapi`: `Signature: <hex HMAC-SHA256 of the raw "
                     "body>` with the creator's signing secret; the dedupe key is `X-OFAPI-Idempotency-Key` (a "
                     "redelivery is acknowledged as a duplicate); ephemeral events are acknowledged and not stored."),
        tags=[TAG_WEBHOOKS], auth=[], request=OpenApiTypes.OBJECT, operation_id="provider_webhook",
        parameters=[OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     enum=["onlyfansapi", "simple"]),
                    OpenApiParameter("Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
                    OpenApiParameter("X-OFAPI-Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     required=False)],
        responses={200: WebhookAckSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )


DRAFT_ID = OpenApiParameter("draft_id", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The draft's id.")


def team(summary: str, response=OpenApiTypes.OBJECT, request=None, draft=False, fan=False, description="",
         parameters=()):
    """extend_schema for the humans-in-the-loop endpoints: 400 says why a draft or message cannot go."""
    return extend_schema(
        summary=summary, description=description, tags=["team"], request=request,
        parameters=[CREATOR_SLUG, *([DRAFT_ID] if draft else []), *([FAN_ID] if fan else []), *parameters],
        responses={200: response, 400: ErrorSerializer, 401: NOT_AUTHENTICATED,
                   403: OpenApiResponse(description="Outside your creators, or missing the permission."),
                   404: NOT_FOUND},
    )


class ModeSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["autopilot", "approve", "off"])


class DraftApproveSerializer(serializers.Serializer):
    """Edits are optional; a bad value (a NaN, a price too big, a NUL byte, a body that is not an object) is a
    400 naming the field, and the draft stays open."""

    text = serializers.CharField(required=False, allow_blank=True, max_length=5000,
                                 help_text="Edited text (empty: as drafted).")
    content_key = serializers.CharField(required=False, allow_blank=True, max_length=80)
    price = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True,
                                     min_value=0)


class DraftRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the draft must not go out.")


def first_error(errors) -> tuple[str, str]:
    """(field, message) of a serializer's first error, for the API's {"error", "field"} answer."""
    if isinstance(errors, dict):
        for name, value in errors.items():
            inner_field, message = first_error(value)
            return (name if name != "non_field_errors" else inner_field or "body"), message
    if isinstance(errors, list) and errors:
        return first_error(errors[0])
    return "", str(errors)
