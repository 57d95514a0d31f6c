"""The API's routes: the deployment's own (service health, webhooks by account or by provider), and each
creator's under its slug (`/api/<slug>/…`, named `creator:<name>`)."""

from django.urls import include, path

from salesbot.api import campaign_views, experiment_views, ops_views, team_views
from salesbot.api.webhook_views import AccountWebhookView, CreatorWebhookView, ProviderWebhookView

per_creator = [
    path("health", ops_views.health, name="health"),
    path("stats", ops_views.stats, name="stats"),
    path("queue", ops_views.queue, name="queue"),
    path("performance", ops_views.performance, name="performance"),
    path("training", ops_views.training, name="training"),
    path("learning/stats", ops_views.learning_stats, name="learning-stats"),
    path("experiment", experiment_views.experiment, name="experiment"),
    path("fan/<int:fan_id>", ops_views.fan_detail, name="fan"),
    path("fan/<int:fan_id>/handoff", ops_views.fan_handoff, name="fan-handoff"),
    path("enable", ops_views.enable, name="enable"),
    path("disable", ops_views.disable, name="disable"),
    path("reactivate", ops_views.reactivate, name="reactivate"),
    path("mode", team_views.mode, name="mode"),
    path("drafts", team_views.draft_list, name="drafts"),
    path("drafts/<int:draft_id>/approve", team_views.draft_approve, name="draft-approve"),
    path("drafts/<int:draft_id>/reject", team_views.draft_reject, name="draft-reject"),
    path("campaigns", campaign_views.campaign_list, name="campaigns"),
    path("campaigns/<int:campaign_id>", campaign_views.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/approve", campaign_views.campaign_approve, name="campaign-approve"),
    path("campaigns/<int:campaign_id>/cancel", campaign_views.campaign_cancel, name="campaign-cancel"),
    path("webhook/<str:kind>", CreatorWebhookView.as_view(), name="webhook"),
]

urlpatterns = [
    path("health", ops_views.service_health, name="service-health"),
    path("webhook/<str:kind>", AccountWebhookView.as_view(), name="account-webhook"),
    path("providers/<str:provider>/webhook", ProviderWebhookView.as_view(), name="provider-webhook"),
    path("<slug:creator_slug>/", include((per_creator, "creator"))),
]
