from django.db import migrations, models


def forget_repeated_uploads(apps, schema_editor):
    """Imports made from an upload another import had already used (confirmations that raced
    before the constraint) keep their history but no longer name the file."""
    DataImport = apps.get_model("imports", "DataImport")
    seen = set()
    for pk, stored_file in DataImport.objects.exclude(stored_file="").order_by("pk").values_list("pk", "stored_file"):
        if stored_file in seen:
            DataImport.objects.filter(pk=pk).update(stored_file="")
        seen.add(stored_file)


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forget_repeated_uploads, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="dataimport",
            constraint=models.UniqueConstraint(
                condition=models.Q(("stored_file", ""), _negated=True),
                fields=("stored_file",),
                name="dataimport_stored_file_once",
            ),
        ),
    ]
