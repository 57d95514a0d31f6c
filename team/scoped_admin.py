"""The admin side of the scope (team.scope): lists, pages, filters and choices hold only the user's
creators; opening another creator's object answers 403, not a page."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError

from team import scope


class CreatorScopedAdmin(admin.ModelAdmin):
    creator_path = "creator"  # from this model to its Creator ("pk" for the Creator itself)

    def creator_id_of(self, obj):
        value = obj
        for part in self.creator_path.split("__"):
            value = value if part == "pk" else getattr(value, part)
        return value if value is None or isinstance(value, int) else value.pk

    def get_queryset(self, request):
        return scope.limit(super().get_queryset(request), request.user, self.creator_path)

    def in_scope(self, request, obj) -> bool:
        return obj is None or scope.sees(request.user, self.creator_id_of(obj))

    def has_view_permission(self, request, obj=None):
        return self.in_scope(request, obj) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.in_scope(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.in_scope(request, obj) and super().has_delete_permission(request, obj)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and scope.creator_ids(request.user) is not scope.ALL:
            try:
                exists = self.model._default_manager.filter(pk=unquote(object_id)).exists()
            except (ValidationError, ValueError):
                exists = False
            if exists:
                raise PermissionDenied
        return obj

    def get_list_filter(self, request):
        """A creator filter lists only the creators the user sees."""
        return [
            (f, admin.RelatedOnlyFieldListFilter) if f in ("creator", "fan__creator") else f
            for f in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ids = scope.creator_ids(request.user)
        if ids is not scope.ALL:
            related = db_field.related_model
            if related._meta.label == "models_registry.Creator":
                kwargs["queryset"] = related._default_manager.filter(pk__in=ids)
            elif related._meta.label == "fans.Fan":
                kwargs["queryset"] = related._default_manager.filter(creator_id__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class LedgerAdmin(CreatorScopedAdmin):
    """A ledger (actions, outcomes, messages, webhook events, model calls): read, never typed into by hand.
    What happened is booked by the pipeline; a correction is an explicit, audited action elsewhere."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
