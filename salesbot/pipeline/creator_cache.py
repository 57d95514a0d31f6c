"""What a creator's replies read on every decision but staff change rarely (templates, the prompt's creator
part), cached with a generation per creator: an edit (post_save / post_delete on the creator, its playbook,
vault or templates; salesbot.apps) moves the generation on, so this process reads afresh at once, and every
process with a shared cache (Redis) too; with a per-process cache, other processes within `ttl` seconds.
Values stay in the process (a cache backend would pickle and unpickle them on every read)."""

import time

from django.core.cache import cache

MAX_ENTRIES = 2000


def _gen_key(creator_id) -> str:
    return f"creator-gen:{creator_id}"


def forget(creator_id) -> None:
    try:
        cache.incr(_gen_key(creator_id))
    except ValueError:
        cache.set(_gen_key(creator_id), 1, None)


_local: dict[str, tuple[float, object]] = {}  # key -> (expires, value): in this process, never pickled


def cached(creator, name: str, build, ttl: float):
    """`build()` for this creator, kept in this process `ttl` seconds or until the creator's next edit (the
    generation, a small number in the shared cache, is the only thing read from it)."""
    created = creator.created_at.timestamp() if creator.created_at else ""
    key = f"creator:{name}:{creator.pk}:{created}:{cache.get(_gen_key(creator.pk), 0)}"
    now = time.monotonic()
    hit = _local.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    if len(_local) > MAX_ENTRIES:
        _local.clear()
    value = build()
    _local[key] = (now + ttl, value)
    return value
