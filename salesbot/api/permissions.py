"""The ops API asks what admin asks: a staff user, the Django permission for reading or changing the
thing the endpoint touches, and the creator in the user's scope (team.scope). Before: any staff token
could switch off, hand off and reactivate any creator's fans, whatever its permissions."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from models_registry.models import Creator
from team import scope


class Scoped(BasePermission):
    read_perm = "models_registry.view_creator"
    write_perm = "models_registry.change_creator"
    message = "Not allowed for this creator: outside your creators, or missing the permission."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        if not user.has_perm(self.read_perm if request.method in SAFE_METHODS else self.write_perm):
            return False
        slug = view.kwargs.get("creator_slug")
        if slug is None:
            return True
        creator_id = Creator.objects.filter(slug=slug).values_list("id", flat=True).first()
        return creator_id is None or scope.sees(user, creator_id)  # an unknown slug: the view answers 404


def scoped(read: str, write: str | None = None) -> type[Scoped]:
    """A Scoped permission for an endpoint about another model (fans, drafts)."""
    return type(f"Scoped_{read.replace('.', '_')}", (Scoped,), {"read_perm": read, "write_perm": write or read})


CreatorReader = Scoped
FanWorker = scoped("fans.view_fan", "fans.change_fan")
DraftWorker = scoped("salesbot.view_draft", "salesbot.change_draft")
