"""A creator's campaigns over the ops API: list and create (GET|POST /api/<slug>/campaigns), one with its
results (GET …/campaigns/<id>), approve and cancel (POST …/approve, …/cancel; change_campaign, which only
managers hold). Input through a DRF serializer: a bad body is a JSON 400 naming the field, never a 500.
Thin: the moves are salesbot.campaigns.sending's, the checks services', the numbers results'."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from learning.models import HOOKS
from learning.stats import campaigns as campaign_stats
from models_registry.models import Creator
from salesbot.api import schemas
from salesbot.api.permissions import scoped
from salesbot.campaigns import results, sending, services
from salesbot.campaigns.models import Campaign, Segment

CampaignReader = scoped("campaigns.view_campaign", "campaigns.add_campaign")
CampaignManager = scoped("campaigns.view_campaign", "campaigns.change_campaign")


class CampaignInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    segment = serializers.IntegerField(help_text="The segment's id (one of this creator's).")
    text = serializers.CharField()
    content_key = serializers.SlugField(required=False, allow_blank=True, default="", max_length=80)
    price = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True, default=None)
    hook = serializers.ChoiceField(choices=[""] + HOOKS, required=False, default="")
    send_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=f"ISO 8601; without an offset, in the agency's time zone "
        f"({settings.TIME_ZONE}). Empty: now (after approval).",
    )
    holdout_share = serializers.FloatField(required=False, default=0.1, min_value=0, max_value=services.MAX_HOLDOUT)
    window_hours = serializers.IntegerField(required=False, default=72, min_value=1, max_value=24 * 14)

    def validate(self, data):
        creator = self.context["creator"]
        segment = Segment.objects.filter(pk=data["segment"], creator=creator).first()
        if segment is None:
            raise serializers.ValidationError({"segment": "no such segment for this creator"})
        found = services.problem(
            creator,
            text=data["text"],
            content_key=data["content_key"],
            price=data["price"],
            holdout_share=data["holdout_share"],
            segment=segment,
        )
        if found:
            raise serializers.ValidationError({found[0]: found[1]})
        return {**data, "segment": segment, "send_at": data["send_at"] or timezone.now()}


class CampaignOutSerializer(serializers.ModelSerializer):
    segment = serializers.SerializerMethodField()
    approved_by = serializers.StringRelatedField()
    created_by = serializers.StringRelatedField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "segment",
            "text",
            "content_key",
            "price",
            "hook",
            "send_at",
            "holdout_share",
            "window_hours",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
            "sent_at",
            "queue_id",
            "left_out",
            "error",
        ]

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
    def get_segment(self, obj) -> dict:
        return {"id": obj.segment_id, "name": obj.segment.name}


def bad_body(errors) -> Response:
    """The first field error as the API's 400: {"error": …, "field": …}."""
    field, problems = next(iter(errors.items()))
    problem = problems[0] if isinstance(problems, list) else problems
    if isinstance(problem, dict):  # nested: take the first inner message
        problem = next(iter(problem.values()))
    field = "body" if field == "non_field_errors" else field
    return Response({"error": f"{field}: {problem}", "field": field}, status=400)


def _creator(slug) -> Creator:
    return get_object_or_404(Creator, slug=slug)


@schemas.ops(
    "Campaigns: list (GET), create one waiting for approval (POST)",
    CampaignOutSerializer,
    request=CampaignInSerializer,
    description="POST answers 201 with the campaign and `suggestion`: a price and hook for its segment "
    "from the campaign posteriors, with how sure they are.",
)
@api_view(["GET", "POST"])
@permission_classes([CampaignReader])
def campaign_list(request, creator_slug):
    creator = _creator(creator_slug)
    if request.method == "POST":
        try:
            data = request.data
        except ParseError as e:
            return Response({"error": f"body: {e.detail}", "field": "body"}, status=400)
        if not hasattr(data, "get"):
            return Response({"error": "body: must be a JSON object", "field": "body"}, status=400)
        body = CampaignInSerializer(data=data, context={"creator": creator})
        if not body.is_valid():
            return bad_body(body.errors)
        campaign = services.create(creator, by=request.user, **body.validated_data)
        return Response(
            {
                **CampaignOutSerializer(campaign).data,
                "suggestion": campaign_stats.suggestion(creator, campaign.segment_id),
            },
            status=201,
        )
    rows = Campaign.objects.filter(creator=creator).select_related("segment", "approved_by", "created_by")
    return Response({"campaigns": CampaignOutSerializer(rows[:200], many=True).data})


def _campaign(slug, pk) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("segment", "creator"), pk=pk, creator__slug=slug)


@schemas.ops(
    "One campaign and its results: sent, viewed, bought, revenue, lift over the holdout (90% interval)",
    operation_id="campaign_detail",
)
@api_view(["GET"])
@permission_classes([CampaignReader])
def campaign_detail(request, creator_slug, campaign_id):
    campaign = _campaign(creator_slug, campaign_id)
    if campaign.queue_id:
        sending.refresh_provider_stats(campaign)
    return Response({**CampaignOutSerializer(campaign).data, "results": results.results(campaign)})


@schemas.ops("Approve a campaign (managers): it is sent at its time", CampaignOutSerializer, method="POST")
@api_view(["POST"])
@permission_classes([CampaignManager])
def campaign_approve(request, creator_slug, campaign_id):
    campaign = _campaign(creator_slug, campaign_id)
    try:
        sending.approve(campaign, request.user)
    except sending.CampaignError as e:
        return Response({"error": str(e), "field": "status"}, status=409)
    return Response(CampaignOutSerializer(campaign).data)


@schemas.ops(
    "Cancel a campaign before its send, or unsend it after (where the provider can)",
    CampaignOutSerializer,
    method="POST",
)
@api_view(["POST"])
@permission_classes([CampaignManager])
def campaign_cancel(request, creator_slug, campaign_id):
    campaign = _campaign(creator_slug, campaign_id)
    try:
        sending.cancel(campaign, request.user)
    except sending.CampaignError as e:
        return Response({"error": str(e), "field": "status"}, status=409)
    return Response(CampaignOutSerializer(campaign).data)
