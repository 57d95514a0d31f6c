"""Admin's LogEntry rows written before StaffToken named a token by its key in clear (object_repr):
they are rewritten to the masked form "••••abcd"."""
from django.db import migrations


def mask_logged_keys(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.filter(app_label__in=["authtoken", "salesbot"],
                                       model__in=["token", "tokenproxy", "stafftoken"])
    for entry in LogEntry.objects.filter(content_type__in=types):
        repr_ = entry.object_repr or ""
        if "•" not in repr_:
            entry.object_repr = f"••••{repr_[-4:]}" if len(repr_) > 8 else "••••"
            entry.save(update_fields=["object_repr"])


class Migration(migrations.Migration):
    dependencies = [("salesbot", "0005_stafftoken"), ("admin", "0003_logentry_add_action_flag_choices"),
                    ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(mask_logged_keys, migrations.RunPython.noop)]
