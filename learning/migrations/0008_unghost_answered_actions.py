"""Ghosts the dormancy checker recorded on actions the fan had answered with a purchase or a tip (it read
only replies as activity) are removed: the `ghosted` outcome goes, its action's flag is cleared unless
another ghost still answers it, and those creators' counters are dropped, to be rebuilt from the rows on
their next stats read. Rows imported from seed logs stay as the seed logged them."""
from django.db import migrations
from django.db.models import Exists, OuterRef

from learning.attribution import activity_after

CHUNK = 500


def unghost(apps, schema_editor):
    Outcome = apps.get_model("learning", "Outcome")
    Action = apps.get_model("learning", "Action")
    StatsCell = apps.get_model("learning", "StatsCell")
    # activity that had arrived (lower seq) when the ghost was recorded, after the action it was put on
    seen = (Outcome.objects.filter(fan_id=OuterRef("fan_id"), seq__lt=OuterRef("seq"))
            .filter(activity_after(OuterRef("action__ts"), OuterRef("action__seq"), OuterRef("action_id"))))
    wrong = list(Outcome.objects.filter(event="ghosted", import_key__isnull=True, action__isnull=False)
                 .filter(Exists(seen)).values_list("pk", "action_id", "creator_id"))
    for i in range(0, len(wrong), CHUNK):
        Outcome.objects.filter(pk__in=[pk for pk, _, _ in wrong[i:i + CHUNK]]).delete()
    actions = sorted({a for _, a, _ in wrong})
    for i in range(0, len(actions), CHUNK):
        chunk = actions[i:i + CHUNK]
        still = Outcome.objects.filter(event="ghosted", action_id__in=chunk).values_list("action_id", flat=True)
        Action.objects.filter(pk__in=chunk).exclude(pk__in=list(still)).update(ghosted=False)
    StatsCell.objects.filter(creator_id__in=sorted({c for _, _, c in wrong})).delete()


class Migration(migrations.Migration):
    dependencies = [("learning", "0007_imported_fan_state")]
    operations = [migrations.RunPython(unghost, migrations.RunPython.noop)]
