"""The learning ledgers in admin: read-only (team.scoped_admin.LedgerAdmin); the pipeline books them."""
from team.scoped_admin import LedgerAdmin


class ActionAdmin(LedgerAdmin):
    list_display = ["ts", "fan", "action", "content_key", "price", "hook", "fan_state", "source", "status",
                    "purchased", "ghosted"]
    list_filter = ["creator", "action", "source", "status", "hook", "fan_state", "purchased", "ghosted"]
    search_fields = ["=fan__fan_id", "content_key", "reason", "error"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan"]


class OutcomeAdmin(LedgerAdmin):
    list_display = ["ts", "fan", "event", "amount", "action"]
    list_filter = ["creator", "event"]
    search_fields = ["=fan__fan_id", "platform_event_id"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan", "action"]
