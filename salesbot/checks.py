"""System checks. Start-up (`manage.py check`, and every management command): settings that would let a
task be killed mid-item or a fan be taken by two workers. Deploy (`check --deploy`): static files."""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks


@checks.register(checks.Tags.staticfiles, deploy=True)
def static_files_collected(app_configs=None, **kwargs):
    """Production serves the collected static files (hashed names from a manifest): without the manifest
    every page that links a stylesheet fails, so say it before the deploy does."""
    if isinstance(staticfiles_storage, ManifestFilesMixin) and staticfiles_storage.read_manifest() is None:
        return [
            checks.Error(
                f"static files were not collected into STATIC_ROOT ({settings.STATIC_ROOT})",
                hint="run `manage.py collectstatic --noinput` as part of the deploy",
                id="salesbot.E001",
            )
        ]
    return []


@checks.register()
def task_budgets(app_configs=None, **kwargs):
    from django_q.conf import Conf

    from salesbot.pipeline.queue import item_worst_case_s

    worst, timeout = item_worst_case_s(), float(Conf.TIMEOUT or 60)
    found = []
    if worst >= timeout:
        found.append(
            checks.Error(
                f"One queue item can take {worst:.0f} s (LLM_TIMEOUT_S × (LLM_MAX_RETRIES + 1) + PLATFORM_TIMEOUT_S) "
                f"but a task is killed after {timeout:.0f} s (Q_CLUSTER timeout).",
                hint="Lower LLM_TIMEOUT_S, LLM_MAX_RETRIES or PLATFORM_TIMEOUT_S, or raise the task timeout.",
                id="salesbot.E002",
            )
        )
    if worst > settings.WORKER_LEASE_S:
        found.append(
            checks.Warning(
                f"WORKER_LEASE_S ({settings.WORKER_LEASE_S:.0f} s) is shorter than one queue item can take "
                f"({worst:.0f} s): a slow item's fan could be taken by a second worker.",
                hint="Raise WORKER_LEASE_S.",
                id="salesbot.W002",
            )
        )
    return found


@checks.register()
def prompt_cache_floor(app_configs=None, **kwargs):
    """A creator whose cached prompt part is under its model's minimum cacheable prefix pays full price
    for every call, silently (the API reports no cache write and no read): say so at start-up."""
    if not settings.ANTHROPIC_API_KEY:
        return []
    from django.db import DatabaseError

    from models_registry.models import Creator
    from salesbot.pipeline.llm.prompt import prefix_report

    found = []
    try:
        for creator in Creator.objects.filter(enabled=True).order_by("slug"):
            r = prefix_report(creator)
            if r["under_floor"]:
                found.append(
                    checks.Warning(
                        f"creator {creator.slug}: the cached prompt part is about {r['tokens']} tokens, under "
                        f"{r['model']}'s minimum cacheable prefix of {r['floor']}: nothing is cached, every call "
                        "is billed in full",
                        hint="Fill in the playbook, vault descriptions and voice templates.",
                        id="salesbot.W003",
                    )
                )
    except DatabaseError:  # before migrate: nothing to check yet
        return []
    return found
