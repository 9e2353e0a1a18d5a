from django.core.management.base import BaseCommand

from surveys.selectors.submissions import submissions_unprocessed
from surveys.services.processing import submission_process


class Command(BaseCommand):
    help = "Run the processing pipeline now for every submission not yet processed; prints counts. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--form", dest="form_id", metavar="FORM_ID")

    def handle(self, *args, form_id=None, **options):
        counts = {"processed": 0, "failed": 0}
        ids = submissions_unprocessed(form_id=form_id)
        for submission_id in ids:
            outcome = submission_process(submission_id=submission_id)
            counts[outcome.state] = counts.get(outcome.state, 0) + 1
        self.stdout.write(f"pending {len(ids)}: processed {counts['processed']}, failed {counts['failed']}")
