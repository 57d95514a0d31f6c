"""Which creators a user may see and act on: the one answer admin, the drafts, the console and the ops
API all ask. A superuser or a manager: every creator (None); a chatter: the creators assigned; any other
staff user: none (a staff flag alone opens nothing)."""

from team.models import TeamMember

ALL = None


def creator_ids(user) -> set[int] | None:
    """None for every creator, else the set of creator ids in the user's scope (cached on the user)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return ALL
    if not hasattr(user, "_team_scope"):
        member = TeamMember.objects.filter(user=user).first()
        if member is None:
            user._team_scope = set()
        elif member.role == TeamMember.Role.MANAGER:
            user._team_scope = ALL
        else:
            user._team_scope = set(member.creators.values_list("id", flat=True))
    return user._team_scope


def sees(user, creator_id) -> bool:
    ids = creator_ids(user)
    return ids is ALL or creator_id in ids


def is_manager(user) -> bool:
    return creator_ids(user) is ALL and user.is_active


def limit(queryset, user, path: str = "creator"):
    """The queryset cut to the user's creators; `path` leads from the model to its creator."""
    ids = creator_ids(user)
    return queryset if ids is ALL else queryset.filter(**{f"{path}__in": ids})
