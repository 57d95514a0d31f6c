"""What a creator's replies read on every decision but staff change rarely (templates, the prompt's creator
part), cached with a generation per creator: an edit (post_save / post_delete on the creator, its playbook,
vault or templates; salesbot.apps) moves the generation on, so this process reads afresh at once, and every
process with a shared cache (Redis) too; with a per-process cache, other processes within `ttl` seconds."""
from django.core.cache import cache


def _gen_key(creator_id) -> str:
    return f"creator-gen:{creator_id}"


def forget(creator_id) -> None:
    try:
        cache.incr(_gen_key(creator_id))
    except ValueError:
        cache.set(_gen_key(creator_id), 1, None)


def cached(creator, name: str, build, ttl: float):
    """`build()` for this creator, kept `ttl` seconds or until the creator's next edit."""
    created = creator.created_at.timestamp() if creator.created_at else ""
    key = f"creator:{name}:{creator.pk}:{created}:{cache.get(_gen_key(creator.pk), 0)}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, ttl)
    return value
