"""What a person does in an open conversation: send (text or a vault item), note, hand off, give back to the
bot, clear a safety flag (managers), release a hold (managers). Each POST answers with the conversation
again: on success after a redirect, on a refusal with what was typed still in the form and the reason beside
the composer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse

from fans import staff
from fans.services import NotAllowed, clear_safety_flag
from salesbot.inbox import assignment, inbox_view
from salesbot.inbox.forms import ClearFlagForm, ComposerForm, HandoffForm, NoteForm
from salesbot.pipeline import console
from team import scope


def post(request, fan_pk, op):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    fan = inbox_view.fan_in_scope(request, fan_pk)
    if not request.user.has_perm("fans.change_fan"):
        raise PermissionDenied
    handler = OPS.get(op)
    if handler is None:
        messages.error(request, f"Unknown operation '{op}'.")
        return _back(request, fan)
    return handler(request, fan)


def _back(request, fan):
    query = request.GET.urlencode()
    return redirect(reverse("admin:inbox_fan", args=[fan.pk]) + (f"?{query}" if query else ""))


def send(request, fan):
    form = ComposerForm(request.POST)
    if not form.is_valid():
        return inbox_view.render(request, fan, composer=form, composer_error=_first_error(form), status=400)
    data = form.cleaned_data
    try:
        action = console.send(
            fan,
            request.user,
            text=data["text"],
            content_key=data["content_key"],
            price=data["price"],
            seen=data["seen"],
        )
    except console.Unseen as e:
        held = request.POST.copy()
        held["seen"] = str(e.newest_id)  # sending again now confirms: the person has the new message on screen
        return inbox_view.render(request, fan, composer=ComposerForm(held), composer_unseen=str(e), status=409)
    except console.ConsoleError as e:
        return inbox_view.render(request, fan, composer=form, composer_error=plain(str(e)), status=400)
    if action.status == "sent":
        messages.success(
            request,
            f"Sent. You hold {fan.name or 'the fan'} for {fan.creator.human_quiet_minutes} "
            f"minutes: the bot stays quiet.",
        )
        return _back(request, fan)
    return inbox_view.render(
        request,
        fan,
        composer=form,
        status=502,
        composer_error=f"Not sent: {plain(action.error) or action.status}. Your message is "
        f"kept below; try again in a moment.",
    )


def plain(why: str) -> str:
    """The gate's reason in a chatter's words (no field names)."""
    words = {
        "content_key": "item",
        "price ": "price $",
        "a PPV needs content and a price": "a paid item needs a price",
        "outside the creator's bounds": "is outside this creator's price range",
    }
    for raw, nice in words.items():
        why = why.replace(raw, nice)
    return why[:1].upper() + why[1:]


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{form.fields[field].label or field.replace('_', ' ')}: "
        return f"{label}{errors[0]}"
    return "Check the form."


def note(request, fan):
    form = NoteForm(request.POST)
    if not form.is_valid():
        return inbox_view.render(request, fan, note_form=form, status=400)
    staff.add_note(fan, form.cleaned_data["note"], str(request.user))
    messages.success(request, "Note added.")
    return _back(request, fan)


def hand_off(request, fan):
    form = HandoffForm(request.POST)
    if not form.is_valid():
        return inbox_view.render(request, fan, handoff_form=form, status=400)
    staff.staff_hand_off(fan, str(request.user), form.cleaned_data["reason"], user=request.user)
    messages.success(request, "Handed off: the bot will not write to this fan until someone gives them back.")
    return _back(request, fan)


def resume(request, fan):
    if fan.safety_flag:
        messages.error(request, "This fan has a safety flag: only a manager can clear it, with a reason.")
    elif staff.staff_resume(fan, str(request.user), user=request.user):
        messages.success(request, "Given back to the bot (engaged).")
    else:
        messages.error(request, "Only a handed-off fan can be given back to the bot.")
    return _back(request, fan)


def clear_flag(request, fan):
    form = ClearFlagForm(request.POST)
    if not scope.is_manager(request.user):
        raise PermissionDenied
    if not form.is_valid():
        return inbox_view.render(request, fan, clear_form=form, status=400)
    try:
        clear_safety_flag(fan, request.user, form.cleaned_data["reason"])
    except NotAllowed as e:
        messages.error(request, str(e))
    else:
        messages.success(
            request,
            "Safety flag cleared and audited. The fan stays with the people until someone gives them back to the bot.",
        )
    return _back(request, fan)


def release(request, fan):
    if not scope.is_manager(request.user):
        raise PermissionDenied
    console.release(fan, request.user)
    messages.success(request, "Hold released: the bot may answer again.")
    return _back(request, fan)


def assign(request, fan):
    if not scope.is_manager(request.user):
        raise PermissionDenied
    pk = request.POST.get("user", "")
    to = assignment.assignable_people(fan).filter(pk=int(pk)).first() if pk.isdigit() else None
    if pk and to is None:
        messages.error(request, "That person does not work this creator's fans.")
        return _back(request, fan)
    try:
        assignment.reassign(fan, to, request.user)
    except assignment.AssignmentError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Assigned to {to}." if to else "Back in the pool.")
    return _back(request, fan)


OPS = {
    "send": send,
    "assign": assign,
    "note": note,
    "hand_off": hand_off,
    "resume": resume,
    "clear_flag": clear_flag,
    "release": release,
}
