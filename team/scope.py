"""Which creators a user may see and act on: the one answer admin, the drafts, the console and the ops
API all ask. A superuser or a manager: every creator (None); a chatter: the creators assigned; any other
staff user: none (a staff flag alone opens nothing). The answer is kept for SCOPE_TTL seconds in the cache,
because the live inbox asks it on every poll of every open tab; a change of role or creators forgets it at once
(team.apps connects `forget`), and another web process without a shared cache (no REDIS_URL) learns it within
SCOPE_TTL."""

from django.core.cache import cache

from team.models import TeamMember

ALL = None
SCOPE_TTL = 10
_EVERY = "all"  # ALL as cached (a cache answers None for a missing key)


def creator_ids(user) -> set[int] | None:
    """None for every creator, else the set of creator ids in the user's scope (cached on the user)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return ALL
    if not hasattr(user, "_team_scope"):
        known = cache.get(_key(user.pk))
        if known is None:
            member = TeamMember.objects.filter(user=user).first()
            if member is None:
                known = set()
            elif member.role == TeamMember.Role.MANAGER:
                known = _EVERY
            else:
                known = set(member.creators.values_list("id", flat=True))
            cache.set(_key(user.pk), known, SCOPE_TTL)
        user._team_scope = ALL if known == _EVERY else known
    return user._team_scope


def _key(user_pk) -> str:
    return f"team-scope:{user_pk}"


def forget(sender=None, instance=None, reverse=False, pk_set=None, **kwargs) -> None:
    """A member's role or creators, or a user, changed (a signal receiver): their scope is asked afresh."""
    users: list = []
    if reverse:  # a creator's members changed: pk_set holds TeamMember ids
        users = list(TeamMember.objects.filter(pk__in=pk_set or ()).values_list("user_id", flat=True))
    else:
        users = [instance.user_id if isinstance(instance, TeamMember) else getattr(instance, "pk", None)]
    cache.delete_many([_key(pk) for pk in users if pk is not None])


def sees(user, creator_id) -> bool:
    ids = creator_ids(user)
    return ids is ALL or creator_id in ids


def is_manager(user) -> bool:
    return creator_ids(user) is ALL and user.is_active


def limit(queryset, user, path: str = "creator"):
    """The queryset cut to the user's creators; `path` leads from the model to its creator."""
    ids = creator_ids(user)
    return queryset if ids is ALL else queryset.filter(**{f"{path}__in": ids})
