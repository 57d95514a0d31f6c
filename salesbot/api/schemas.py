"""OpenAPI descriptions of the ops API (drf-spectacular): small serializers for fixed shapes,
free-form objects for the statistics dicts whose keys follow the data."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

TAG_OPS = "ops"
TAG_WEBHOOKS = "webhooks"
TAG_SERVICE = "service"

CREATOR_SLUG = OpenApiParameter(
    "creator_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The creator's slug, e.g. `demo`."
)
FAN_ID = OpenApiParameter("fan_id", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The platform fan id.")

NOT_AUTHENTICATED = OpenApiResponse(description="No or invalid token (`Authorization: Token …`).")
NOT_STAFF = OpenApiResponse(description="The token's user is not staff.")
NOT_FOUND = OpenApiResponse(description="Unknown creator (or fan).")


class Text(serializers.CharField):
    """A text field that takes text only: a number or a list where words belong is refused, not turned into
    words (DRF's CharField would take 12 as "12"); a NUL character is refused by CharField itself."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


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
    reason = Text(
        required=False, allow_blank=True, max_length=2000, help_text="Why a human takes over (kept to 200 characters)."
    )


class HandoffSerializer(serializers.Serializer):
    fan_id = serializers.IntegerField()
    state = serializers.CharField()
    handoff_reason = serializers.CharField()


class ReactivateSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Dormant spenders queued for one rekindle each.")


class ExperimentRequestSerializer(serializers.Serializer):
    control_share = serializers.FloatField(
        required=False,
        default=0.2,
        min_value=0.01,
        max_value=0.99,
        help_text="Share of new fans held out in the control arm (POST only).",
    )


class WebhookAckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "ignored"])
    event_id = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="What is wrong, in words.")
    field = serializers.CharField(required=False, help_text="The field at fault (`body`: the body as a whole).")


class PerformanceQuerySerializer(serializers.Serializer):
    """`?by=sender` and its period (salesbot.periods)."""

    by = serializers.ChoiceField(choices=["sender"], required=False)
    period = serializers.ChoiceField(choices=["today", "yesterday", "7d", "30d", "all", "custom"], required=False)
    history = serializers.ChoiceField(choices=["0", "1"], required=False, default="1")

    def to_internal_value(self, data):
        """Leave the custom period's `from` / `to` to salesbot.periods (a bad day falls back to all time)."""
        return super().to_internal_value({k: data.get(k) for k in ("by", "period", "history") if data.get(k)})


class FreeForm(serializers.Serializer):
    """A statistics dict whose keys follow the data (documented in the endpoint's description), passed through."""

    def to_representation(self, instance):
        return instance


class ExperimentStartedSerializer(serializers.Serializer):
    stopped = serializers.IntegerField(required=False, allow_null=True)

    def to_representation(self, instance):
        return instance


PERIOD_PARAMETERS = [
    OpenApiParameter("by", OpenApiTypes.STR, enum=["sender"], description="`sender`: sales credit per sender."),
    OpenApiParameter(
        "period",
        OpenApiTypes.STR,
        enum=["today", "yesterday", "7d", "30d", "all", "custom"],
        description="With by=sender: the period, in the agency's time zone (default: all time).",
    ),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of a custom period."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of a custom period (included)."),
    OpenApiParameter(
        "history",
        OpenApiTypes.STR,
        enum=["0", "1"],
        description="0: leave imported history out (its money is reported apart).",
    ),
]


def ops(
    summary: str,
    response=OpenApiTypes.OBJECT,
    method="GET",
    fan=False,
    request=None,
    description="",
    parameters=(),
    operation_id=None,
):
    """extend_schema for one staff-token endpoint under /api/{creator_slug}/."""
    return extend_schema(
        summary=summary,
        description=description,
        tags=[TAG_OPS],
        request=request,
        operation_id=operation_id,
        parameters=[CREATOR_SLUG, *([FAN_ID] if fan else []), *parameters],
        responses={200: response, 401: NOT_AUTHENTICATED, 403: NOT_STAFF, 404: NOT_FOUND},
    )


def open_health(summary: str, response, operation_id: str, per_creator=False):
    return extend_schema(
        summary=summary,
        tags=[TAG_SERVICE],
        operation_id=operation_id,
        auth=[],
        parameters=[CREATOR_SLUG] if per_creator else None,
        responses={200: response, **({404: NOT_FOUND} if per_creator else {})},
    )


def webhook(per_creator: bool):
    where = "the creator named in the path" if per_creator else "the creator whose `account_id` the body names"
    return extend_schema(
        summary="Platform webhook (HMAC-signed, no token)" + ("" if per_creator else ", creator by account_id"),
        description=(
            f"Signed with {where}'s webhook secret in `X-Signature: sha256=<hex>`. "
            "`kind` is one of `fan-message`, `new-subscriber`, `purchase`, `of-event`. "
            "The event is stored before it is acknowledged; a repeated `event_id` is acknowledged once."
        ),
        tags=[TAG_WEBHOOKS],
        auth=[],
        request=OpenApiTypes.OBJECT,
        operation_id="creator_webhook" if per_creator else "account_webhook",
        parameters=[
            *([CREATOR_SLUG] if per_creator else []),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=["fan-message", "new-subscriber", "purchase", "of-event"],
            ),
            OpenApiParameter(
                "X-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="`sha256=` + hex HMAC-SHA256 of the raw body.",
            ),
        ],
        responses={
            200: WebhookAckSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            404: ErrorSerializer,
            413: ErrorSerializer,
        },
    )


def provider_webhook():
    return extend_schema(
        summary="Provider webhook (signed by the provider, no token), creator by account_id",
        description=(
            "One URL per deployment and provider. `onlyfansapi`: `Signature: <hex HMAC-SHA256 of the raw "
            "body>` with the creator's signing secret; the dedupe key is `X-OFAPI-Idempotency-Key` (a "
            "redelivery is acknowledged as a duplicate); ephemeral events are acknowledged and not stored."
        ),
        tags=[TAG_WEBHOOKS],
        auth=[],
        request=OpenApiTypes.OBJECT,
        operation_id="provider_webhook",
        parameters=[
            OpenApiParameter("provider", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["onlyfansapi", "simple"]),
            OpenApiParameter("Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("X-OFAPI-Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
        ],
        responses={200: WebhookAckSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )


DRAFT_ID = OpenApiParameter("draft_id", OpenApiTypes.INT64, OpenApiParameter.PATH, description="The draft's id.")


def team(
    summary: str, response=OpenApiTypes.OBJECT, request=None, draft=False, fan=False, description="", parameters=()
):
    """extend_schema for the humans-in-the-loop endpoints: 400 says why a draft or message cannot go."""
    return extend_schema(
        summary=summary,
        description=description,
        tags=["team"],
        request=request,
        parameters=[CREATOR_SLUG, *([DRAFT_ID] if draft else []), *([FAN_ID] if fan else []), *parameters],
        responses={
            200: response,
            400: ErrorSerializer,
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(description="Outside your creators, or missing the permission."),
            404: NOT_FOUND,
        },
    )


class ModeSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["autopilot", "approve", "off"])


class LastMessageSerializer(serializers.Serializer):
    direction = serializers.CharField()
    text = serializers.CharField()
    ts = serializers.DateTimeField()


class DraftSerializer(serializers.Serializer):
    """A draft as the API shows it: what the bot would send, and the fan it waits for."""

    id = serializers.IntegerField(source="pk")
    fan_id = serializers.IntegerField(source="fan.fan_id")
    fan_name = serializers.CharField(source="fan.name")
    status = serializers.CharField()
    action = serializers.CharField()
    text = serializers.CharField()
    content_key = serializers.CharField()
    price = serializers.FloatField(allow_null=True)
    hook = serializers.CharField()
    source = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    waiting_since = serializers.DateTimeField()
    total_spent = serializers.FloatField(source="fan.total_spent")
    whale_score = serializers.IntegerField(source="fan.whale_score")


class DraftWithMessagesSerializer(DraftSerializer):
    last_messages = LastMessageSerializer(many=True, source="recent_messages")


class DraftListSerializer(serializers.Serializer):
    mode = serializers.CharField()
    drafts = DraftWithMessagesSerializer(many=True)


class DraftDecidedSerializer(DraftSerializer):
    action_status = serializers.CharField(source="sent_action.status")
    action_error = serializers.CharField(source="sent_action.error")


class DraftApproveSerializer(serializers.Serializer):
    """Edits are optional; a bad value (a NaN, a price too big, a NUL byte, a body that is not an object) is a
    400 naming the field, and the draft stays open."""

    text = Text(required=False, allow_blank=True, max_length=5000, help_text="Edited text (empty: as drafted).")
    content_key = Text(required=False, allow_blank=True, max_length=80)
    price = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True, min_value=0)


class DraftRejectSerializer(serializers.Serializer):
    reason = Text(max_length=300, help_text="Why the draft must not go out.")
