"""Team members are edited in admin: a role and, for a chatter, the creators assigned (also inline on
the user's page)."""
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from team.models import TeamMember


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "creator_list"]
    list_filter = ["role", "creators"]
    search_fields = ["user__username"]
    filter_horizontal = ["creators"]
    autocomplete_fields = []
    raw_id_fields = ["user"]

    @admin.display(description="creators")
    def creator_list(self, obj):
        return "every creator" if obj.role == TeamMember.Role.MANAGER else (
            ", ".join(c.slug for c in obj.creators.all()) or "—")


class TeamMemberInline(admin.StackedInline):
    model = TeamMember
    can_delete = True
    filter_horizontal = ["creators"]
    extra = 0


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class TeamUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, TeamMemberInline]
