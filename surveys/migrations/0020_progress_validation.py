"""The dashboard's running counts keep each interview's validation, so that it
tells received from counted (refused, invalid and not approved, rejected,
not processed yet) from the counts alone: the cells of every round are
recounted (as ``round_progress_rebuild`` does)."""

from django.db import migrations, models


def recount(apps, schema_editor):
    from collections import Counter

    from django.utils import timezone

    Submission = apps.get_model("surveys", "Submission")
    ProgressCount = apps.get_model("surveys", "ProgressCount")
    counts, last = Counter(), {}
    for s in Submission.objects.filter(is_current=True).values(
            "round_id", "submitted_by_id", "location_id", "respondent_sex", "review_status", "consent",
            "validation", "interview_date", "received_at").iterator(5000):
        key = (s["round_id"], s["submitted_by_id"] or 0, s["location_id"] or 0, s["respondent_sex"] or "",
               s["review_status"] or "", s["consent"] is False, s["validation"],
               s["interview_date"].isoformat() if s["interview_date"] else "", timezone.localdate(s["received_at"]))
        counts[key] += 1
        last[key] = max(last.get(key, s["received_at"]), s["received_at"])
    ProgressCount.objects.all().delete()
    ProgressCount.objects.bulk_create(
        [ProgressCount(round_id=k[0], user_id=k[1], location_id=k[2], respondent_sex=k[3], review_status=k[4],
                       refused=k[5], validation=k[6], interview_day=k[7], received_day=k[8], count=n,
                       last_received=last[k])
         for k, n in counts.items()], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0019_submission_encrypted_verbose_name"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="progresscount", name="progress_count_one_cell"),
        migrations.AddField(model_name="progresscount", name="validation",
                            field=models.CharField(default="pending", max_length=8)),
        migrations.AddConstraint(
            model_name="progresscount",
            constraint=models.UniqueConstraint(
                fields=("round", "user_id", "location_id", "respondent_sex", "review_status", "refused", "validation",
                        "interview_day", "received_day"), name="progress_count_one_cell"),
        ),
        migrations.RunPython(recount, migrations.RunPython.noop),
    ]
