from django.apps import AppConfig


class TeamConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "team"
    verbose_name = "team"

    def ready(self):
        from django.db.models.signals import post_migrate

        from team.roles import sync_groups

        # The role groups need the permissions, which each app's post_migrate creates: refreshed after each.
        post_migrate.connect(sync_groups, dispatch_uid="team.sync_groups")
