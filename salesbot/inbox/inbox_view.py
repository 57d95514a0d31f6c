"""The inbox page (the list of conversations, and one conversation beside it) and its live feed. Thin: the
reads are salesbot.inbox.selectors, the writes salesbot.inbox.conversation_ops."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from fans.models import Fan
from models_registry.models import Creator
from salesbot.inbox import assignment, live, selectors
from salesbot.inbox.forms import ClearFlagForm, ComposerForm, HandoffForm, NoteForm
from salesbot.models import Draft
from salesbot.pipeline.contact import HUMAN, contact_block
from team import scope


def fan_in_scope(request, fan_pk) -> Fan:
    if not request.user.has_perm("fans.view_fan"):
        raise PermissionDenied
    fan = get_object_or_404(Fan.objects.select_related("creator", "held_by"), pk=fan_pk)
    if not scope.sees(request.user, fan.creator_id):
        raise PermissionDenied
    return fan


def _filters(request) -> dict:
    show = request.GET.get("show", "")
    creator = request.GET.get("creator", "")
    return {
        "show": show if show in selectors.FILTERS else "",
        "creator_id": int(creator) if creator.isdigit() and scope.sees(request.user, int(creator)) else None,
    }


def _list_context(request, fan=None, everything: list | None = None) -> dict:
    """The list's context; `everything`: the unfiltered rows, reused when no filter is on (one read, not two)."""
    filters = _filters(request)
    if everything is not None and not filters["show"] and not filters["creator_id"]:
        rows = everything[: selectors.ROWS]
    else:
        rows = selectors.conversations(request.user, creator_id=filters["creator_id"], show=filters["show"])
    query = request.GET.urlencode()
    return {
        "rows": rows,
        "current": fan.pk if fan else None,
        "query": f"?{query}" if query else "",
        "show": filters["show"],
        "creator_id": filters["creator_id"],
        "filters": selectors.FILTERS,
    }


def conversation_context(request, fan, composer=None, **forms) -> dict:
    newest = selectors.newest_fan_message_id(fan)
    composer = composer or ComposerForm(initial={"seen": newest})
    return {
        "fan": fan,
        "bubbles": selectors.bubbles(fan),
        "side": selectors.panel(fan),
        "composer": composer,
        "vault": selectors.vault(fan) if not fan.safety_flag else [],
        "replies": selectors.saved_replies(fan),
        "newest_in": newest,
        "blocked": contact_block(fan.creator, fan, writer=HUMAN),
        "can_change": request.user.has_perm("fans.change_fan"),
        "is_manager": scope.is_manager(request.user),
        "handoff_form": forms.get("handoff_form") or HandoffForm(),
        "clear_form": forms.get("clear_form") or ClearFlagForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "timeline_url": reverse("admin:fans_fan_timeline", args=[fan.pk]),
        "assignable": assignment.assignable_people(fan) if scope.is_manager(request.user) else [],
    }


def render(request, fan=None, *, status=200, **extra) -> TemplateResponse:
    """The whole page; `extra` carries a bound form and its message after a refused POST."""
    if fan is not None:
        selectors.mark_read(request.user, fan)  # before the list, so the open conversation shows as read
    everything = selectors.conversations(request.user, limit=1000)
    lists = _list_context(request, fan, everything)
    context = {
        **admin.site.each_context(request),
        "title": f"Inbox: {fan}" if fan else "Inbox",
        **lists,
        "unhealthy": selectors.unhealthy_accounts(request.user),
        "shift": assignment.on_duty(request.user),
        "on_duty": list(assignment.team_on_duty()),
        "breached": sum(1 for r in lists["rows"] if r.target and r.target["state"] == "breached"),
        "creators": scope.limit(Creator.objects.all(), request.user, "pk"),
        "open_drafts": Draft.objects.filter(
            status=Draft.Status.OPEN,
            **(
                {}
                if scope.creator_ids(request.user) is scope.ALL
                else {"creator_id__in": scope.creator_ids(request.user)}
            ),
        ).count(),
        "stamp": live.stamp(request.user),
        "awaiting": selectors.awaiting_count(request.user, everything),
    }
    if fan is not None:
        context.update(conversation_context(request, fan, **extra))
    context.update({k: v for k, v in extra.items() if k not in ("composer",)})
    return TemplateResponse(request, "admin/inbox/page.html", context, status=status)


def page(request, fan_pk=None):
    fan = fan_in_scope(request, fan_pk) if fan_pk is not None else None
    return render(request, fan)


def live_feed(request):
    """What changed since the page's `stamp`: the rows that moved (or the whole list), the open conversation and
    the fan beside it, each rendered again only when it changed (salesbot.inbox.live); otherwise a few bytes."""
    if not live.may_watch(request.user):
        raise PermissionDenied
    now = live.stamp(request.user)
    if request.GET.get("stamp") == now:
        return JsonResponse({"stamp": now, "changed": False})
    fan_pk = request.GET.get("fan", "")
    fan_pk = int(fan_pk) if fan_pk.isdigit() else None
    changed = live.changed_fans(request.GET.get("stamp", ""), now)
    # one query for the versions of the rows that moved and of the open conversation
    known = live.versions(request.user, (changed or set()) | ({fan_pk} if fan_pk else set()))
    fan_now, read = live.fan_stamp(request.user, fan_pk, known) if fan_pk else ("", True)
    fan = None
    if fan_pk and (fan_now == "0" or request.GET.get("fan_stamp") != fan_now or not read):
        fan = fan_in_scope(request, fan_pk)  # the open conversation changed (or is not to be seen): read it
    if fan is not None and not read and request.GET.get("visible") == "1":
        selectors.mark_read(request.user, fan)
        known.update(live.versions(request.user, [fan_pk]))  # its row's unread count is 0 now
        fan_now, _ = live.fan_stamp(request.user, fan_pk, known)
    filters = _filters(request)
    query = request.GET.get("query", "")
    query = query if query.startswith("?") else ""  # the page's own filters, echoed into the row links
    where = {"query": query, **filters}
    body: dict = {"stamp": now, "changed": True}
    if changed is not None:  # a few fans moved: only their rows (the page sorts and counts them)
        moved = live.changed_rows(request.user, changed, known=known, **where)
        body["rows"] = {str(pk): html for pk, html in moved.items()}
    else:
        rows, body["awaiting"] = live.listing(request.user, **where)
        body["list"] = "".join(e.html for e in rows) or '<li class="conv-empty">No conversations here.</li>'
    if fan_pk:
        body["fan_stamp"] = fan_now
    if fan is not None and request.GET.get("fan_stamp") != fan_now:  # the open conversation again if it changed
        conv = conversation_context(request, fan)
        body.update(
            bubbles=render_to_string("admin/inbox/_bubbles.html", conv, request),
            side=render_to_string("admin/inbox/_panel.html", conv, request),
            newest_in=conv["newest_in"],
        )
    return JsonResponse(body)


def duty(request):
    """Clock in or out (POST op=in|out); back to the inbox."""
    if request.method != "POST" or not request.user.has_perm("fans.view_fan"):
        raise PermissionDenied
    if request.POST.get("op") == "in":
        assignment.clock_in(request.user)
        messages.success(request, "You are on duty: fans who need a person are routed to you.")
    else:
        released = assignment.clock_out(request.user)
        messages.success(request, f"Off duty. {released} fan(s) went back to the pool." if released else "Off duty.")
    return redirect(request.META.get("HTTP_REFERER") or reverse("admin:inbox"))
