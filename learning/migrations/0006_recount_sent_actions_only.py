"""The stats now count only actions that reached the fan (status sent or logged). Counters built under
the old rule are dropped here; each creator's are rebuilt from the rows on its next stats read."""
from django.db import migrations


def drop_counters(apps, schema_editor):
    apps.get_model("learning", "StatsCell").objects.all().delete()
    apps.get_model("learning", "BuyerStat").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("learning", "0005_stats_rollup")]
    operations = [migrations.RunPython(drop_counters, migrations.RunPython.noop)]
