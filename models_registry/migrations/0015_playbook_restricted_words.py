"""Creators onboarded before: the words their playbook's §14 lists join their restricted words."""
from django.db import migrations


def merge(apps, schema_editor):
    from models_registry.services import restricted_words_in_playbook

    Creator = apps.get_model("models_registry", "Creator")
    PlaybookSection = apps.get_model("models_registry", "PlaybookSection")
    for section in PlaybookSection.objects.filter(number=14):
        listed = restricted_words_in_playbook(section.body)
        if not listed:
            continue
        creator = Creator.objects.get(pk=section.creator_id)
        known = list(creator.restricted_words or [])
        seen = {str(k).casefold() for k in known}
        new = [w for w in listed if w.casefold() not in seen]
        if new:
            creator.restricted_words = known + new
            creator.save(update_fields=["restricted_words"])


class Migration(migrations.Migration):
    dependencies = [("models_registry", "0014_creator_first_response_minutes_and_more")]
    operations = [migrations.RunPython(merge, migrations.RunPython.noop)]
