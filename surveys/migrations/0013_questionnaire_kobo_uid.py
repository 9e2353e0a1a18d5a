"""The KoBo asset uid stored on every questionnaire version (one indexed query finds an asset)."""

from django.db import migrations, models


def fill_kobo_uids(apps, schema_editor):
    from surveys.kobo_ids import asset_uid

    Questionnaire = apps.get_model("surveys", "Questionnaire")
    for form_id in Questionnaire.objects.values_list("form_id", flat=True).distinct():
        Questionnaire.objects.filter(form_id=form_id).update(kobo_uid=asset_uid(form_id))


class Migration(migrations.Migration):
    dependencies = [("surveys", "0012_kobo_api")]

    operations = [
        migrations.AddField(
            model_name="questionnaire",
            name="kobo_uid",
            field=models.CharField(default="", editable=False, max_length=32),
            preserve_default=False,
        ),
        migrations.RunPython(fill_kobo_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="questionnaire",
            name="kobo_uid",
            field=models.CharField(db_index=True, editable=False, max_length=32),
        ),
    ]
