"""Questionnaire versions are archived, never deleted (issue 13, item 8)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("surveys", "0014_sex_question")]

    operations = [
        migrations.AddField(
            model_name="questionnaire",
            name="archived_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
