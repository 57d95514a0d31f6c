"""System checks of the deployment (run by `manage.py check --deploy`)."""
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, Tags, register


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs=None, **kwargs):
    """Production serves the collected static files (hashed names from a manifest): without the manifest
    every page that links a stylesheet fails, so say it before the deploy does."""
    if isinstance(staticfiles_storage, ManifestFilesMixin) and staticfiles_storage.read_manifest() is None:
        return [Error(f"static files were not collected into STATIC_ROOT ({settings.STATIC_ROOT})",
                      hint="run `manage.py collectstatic --noinput` as part of the deploy",
                      id="salesbot.E001")]
    return []
