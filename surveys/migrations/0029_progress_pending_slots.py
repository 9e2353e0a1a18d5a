"""The progress cells of submissions waiting to be processed spread over 16 slots (their id modulo 16): the
pending cells counted so far (slot 0) are recounted into their slots, as ``progress_key`` places them
(backwards: summed into slot 0 again)."""

from django.db import migrations, models
from django.utils import timezone

SLOTS = 16  # ProgressCount.PENDING_SLOTS


def pending_cells_into_slots(apps, schema_editor):
    ProgressCount = apps.get_model("surveys", "ProgressCount")
    Submission = apps.get_model("surveys", "Submission")
    ProgressCount.objects.filter(validation="pending").delete()
    cells: dict[tuple, list] = {}
    fields = ["id", "round_id", "submitted_by_id", "location_id", "respondent_sex", "review_status", "consent",
              "interview_date", "received_at"]
    for s in Submission.objects.filter(is_current=True, validation="pending").values(*fields).iterator(5000):
        day = s["interview_date"]
        key = (s["round_id"], s["submitted_by_id"] or 0, s["location_id"] or 0, s["respondent_sex"] or "",
               s["review_status"] or "", s["consent"] is False, day.isoformat() if day else "",
               timezone.localdate(s["received_at"]), s["id"] % SLOTS)
        cell = cells.setdefault(key, [0, s["received_at"]])
        cell[0] += 1
        cell[1] = max(cell[1], s["received_at"])
    ProgressCount.objects.bulk_create(
        (ProgressCount(round_id=k[0], user_id=k[1], location_id=k[2], respondent_sex=k[3], review_status=k[4],
                       refused=k[5], validation="pending", interview_day=k[6], received_day=k[7], slot=k[8],
                       count=n, last_received=last)
         for k, (n, last) in cells.items()), batch_size=2000)


def pending_cells_into_one(apps, schema_editor):
    """Backwards: each pending cell's slots summed into slot 0 (the one cell it was before)."""
    from django.db.models import Max, Sum

    ProgressCount = apps.get_model("surveys", "ProgressCount")
    key = ["round_id", "user_id", "location_id", "respondent_sex", "review_status", "refused", "validation",
           "interview_day", "received_day"]
    merged = list(ProgressCount.objects.exclude(slot=0).values(*key).annotate(n=Sum("count"), last=Max("last_received"))
                  .order_by())
    for cell in merged:
        n, last = cell.pop("n"), cell.pop("last")
        ProgressCount.objects.filter(**cell).exclude(slot=0).delete()
        one, _ = ProgressCount.objects.get_or_create(**cell, slot=0, defaults={"count": 0, "last_received": last})
        one.count += n
        one.last_received = max(one.last_received, last)
        one.save()


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0028_number_tallies"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="progresscount",
            name="progress_count_one_cell",
        ),
        migrations.AddField(
            model_name="progresscount",
            name="slot",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="progresscount",
            constraint=models.UniqueConstraint(
                fields=("round", "user_id", "location_id", "respondent_sex", "review_status", "refused", "validation",
                        "interview_day", "received_day", "slot"),
                name="progress_count_one_cell"),
        ),
        migrations.RunPython(pending_cells_into_slots, pending_cells_into_one),
    ]
