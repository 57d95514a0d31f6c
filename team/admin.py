"""Team members are edited in admin: a role and, for a chatter, the creators assigned (also inline on
the user's page)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from team.models import TeamMember
from team.scoped_admin import CreatorScopedAdmin


class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "creator_list"]
    list_filter = ["role", "creators"]
    search_fields = ["user__username"]
    filter_horizontal = ["creators"]
    autocomplete_fields = []
    raw_id_fields = ["user"]

    @admin.display(description="creators")
    def creator_list(self, obj):
        return (
            "every creator"
            if obj.role == TeamMember.Role.MANAGER
            else (", ".join(c.slug for c in obj.creators.all()) or "—")
        )


class TeamMemberInline(admin.StackedInline):
    model = TeamMember
    can_delete = True
    filter_horizontal = ["creators"]
    extra = 0


User = get_user_model()


class TeamUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, TeamMemberInline]


class SnippetAdmin(CreatorScopedAdmin):
    """The team's saved replies: a chatter types "/" in the composer to find one."""

    list_display = ["title", "creator", "text"]
    list_filter = ["creator"]
    search_fields = ["title", "text"]

    def get_queryset(self, request):
        """A snippet for every creator (no creator) is everyone's; the rest follow the scope."""
        from team import scope

        qs = self.model._default_manager.all()
        ids = scope.creator_ids(request.user)
        return qs if ids is scope.ALL else qs.filter(creator_id__in=ids) | qs.filter(creator__isnull=True)

    def in_scope(self, request, obj) -> bool:
        return obj is None or obj.creator_id is None or super().in_scope(request, obj)
