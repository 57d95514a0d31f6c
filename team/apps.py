from django.apps import AppConfig


class TeamConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "team"
    verbose_name = "team"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

        from team import scope
        from team.models import TeamMember
        from team.roles import sync_groups

        # The role groups need the permissions, which each app's post_migrate creates: refreshed after each.
        post_migrate.connect(sync_groups, dispatch_uid="team.sync_groups")
        # A member's scope is cached for a few seconds (team.scope): a change of role, creators or user forgets it.
        for name, signal in (("save", post_save), ("delete", post_delete)):
            signal.connect(scope.forget, sender=TeamMember, dispatch_uid=f"team.scope.member.{name}")
            signal.connect(scope.forget, sender=get_user_model(), dispatch_uid=f"team.scope.user.{name}")
        m2m_changed.connect(scope.forget, sender=TeamMember.creators.through, dispatch_uid="team.scope.creators")
