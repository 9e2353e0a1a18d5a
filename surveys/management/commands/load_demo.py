from django.core.management.base import BaseCommand

from surveys.demo.loader import ENUMERATOR_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Load the MTM Kazakhstan demo (idempotent)."

    def handle(self, *args, **options):
        summary = demo_load()
        self.stdout.write(
            f"Demo ready: survey '{summary.survey.slug}', rounds "
            f"{', '.join(str(r.number) for r in summary.rounds)}, form {summary.form}, "
            f"{summary.enumerators} enumerators (enum01…enum15 / {ENUMERATOR_PASSWORD}), "
            f"{summary.submissions} new sample interviews, "
            "supervisor/supervisor, admin/admin."
        )
