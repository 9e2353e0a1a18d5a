"""One setting for the respondent's sex question: ``Round.sex_question`` (default ``sex``) is both the
question the sex quotas read (before: ``Round.checks["sex_field"]``, a path) and a breakdown the tallies
always keep (before: ``"sex"`` in ``Round.report_by``); ``report_by`` lists only the extra breakdowns.

Existing rounds keep what they had: ``sex_field`` becomes ``sex_question`` (the question's name, the last
part of its path), ``sex_values`` stays in ``checks``, ``report_by`` loses the sex question and keeps the
rest. A round whose tallies did not keep its sex question's breakdown gets those cells counted here, as
``round_tally_rebuild`` would count them (from the submissions its tallies hold, ``tallied``)."""

from collections import Counter

from django.db import migrations, models


def sex_question_from_settings(apps, schema_editor):
    Round = apps.get_model("surveys", "Round")
    for round_ in Round.objects.order_by("pk"):
        checks = dict(round_.checks or {})
        sex_field = checks.pop("sex_field", None)
        question = str(sex_field).strip("/").rsplit("/", 1)[-1] if sex_field else "sex"
        kept_before = [str(name) for name in (round_.report_by or [])]
        round_.sex_question = question
        round_.checks = checks
        round_.report_by = [name for name in dict.fromkeys(kept_before) if name != question]
        round_.save(update_fields=["sex_question", "checks", "report_by"])
        if question not in kept_before:
            count_breakdown(apps, round_.pk, question)


def count_breakdown(apps, round_id, question):
    """The tally cells of the breakdown by ``question`` (select_one name) of the round's tallied submissions."""
    from surveys.selectors.tallies import record_cells, tally_plan  # pure functions of a schema and a record

    Questionnaire = apps.get_model("surveys", "Questionnaire")
    Submission = apps.get_model("surveys", "Submission")
    RoundTally = apps.get_model("surveys", "RoundTally")
    plans = {pk: tally_plan(schema, [question])
             for pk, schema in Questionnaire.objects.filter(round_id=round_id).values_list("pk", "schema")}
    cells = Counter()
    rows = (Submission.objects.filter(round_id=round_id, tallied=True)
            .values_list("questionnaire_id", "form_id", "answers", "unanswered"))
    for questionnaire_id, form_id, answers, unanswered in rows.iterator(chunk_size=2000):
        found = record_cells(answers=answers or {}, unanswered=unanswered or (), location=None,
                             plan=plans[questionnaire_id])
        for (dimension, group, path, value), n in found.items():
            if dimension == question:
                cells[(form_id, group, path, value)] += n
    RoundTally.objects.filter(round_id=round_id, dimension=question).delete()
    RoundTally.objects.bulk_create(
        [RoundTally(round_id=round_id, form_id=form_id, dimension=question, group=group, path=path, value=value,
                    count=n) for (form_id, group, path, value), n in sorted(cells.items()) if n],
        batch_size=2000)


def settings_from_sex_question(apps, schema_editor):
    """Back: the sex question into ``checks["sex_field"]`` (its name) and the front of ``report_by``."""
    Round = apps.get_model("surveys", "Round")
    for round_ in Round.objects.order_by("pk"):
        checks = dict(round_.checks or {})
        if round_.sex_question and round_.sex_question != "sex":
            checks["sex_field"] = round_.sex_question
        round_.checks = checks
        round_.report_by = list(dict.fromkeys([n for n in [round_.sex_question, *(round_.report_by or [])] if n]))
        round_.save(update_fields=["checks", "report_by"])


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0013_questionnaire_kobo_uid'),
    ]

    operations = [
        migrations.AddField(
            model_name='round',
            name='sex_question',
            field=models.CharField(blank=True, default='sex', help_text="The select_one question (by name) holding the respondent's sex: the sex quotas count its answers (choice names mapped by the checks' sex_values) and its breakdown is always kept current. Blank: the round has none. Changing it rebuilds the tallies.", max_length=100),
        ),
        migrations.AlterField(
            model_name='round',
            name='checks',
            field=models.JSONField(blank=True, default=dict, help_text='Quality-check settings; keys left out take the defaults of surveys.round_settings.CheckSettings.'),
        ),
        migrations.AlterField(
            model_name='round',
            name='privacy',
            field=models.JSONField(blank=True, default=dict, help_text='Anonymisation settings (consent question, GPS displace/coarsen, k, retention); keys left out take the defaults of surveys.round_settings.PrivacySettings.'),
        ),
        migrations.AlterField(
            model_name='round',
            name='report_by',
            field=models.JSONField(blank=True, default=list, help_text='Further select_one questions (by name) whose breakdowns are kept current besides location and the sex question; reports by any other question are computed from the records. Changing it rebuilds the tallies.'),
        ),
        migrations.RunPython(sex_question_from_settings, settings_from_sex_question),
    ]
