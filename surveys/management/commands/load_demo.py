from django.utils.translation import gettext as _

from mtm.commands import DomainCommand
from surveys.demo.loader import ENUMERATOR_PASSWORD, demo_load


class Command(DomainCommand):
    help = "Load the MTM Kazakhstan demo (idempotent)."

    def handle(self, *args, **options):
        summary = demo_load()
        self.stdout.write(
            _("Demo ready: survey '%(survey)s', rounds %(rounds)s, form %(form)s, %(enumerators)s enumerators "
              "(enum01…enum15 / %(password)s), %(submissions)s new sample interviews, supervisor/supervisor, "
              "admin/admin.") % {
                "survey": summary.survey.slug, "rounds": ", ".join(str(r.number) for r in summary.rounds),
                "form": summary.form, "enumerators": summary.enumerators, "password": ENUMERATOR_PASSWORD,
                "submissions": summary.submissions})
