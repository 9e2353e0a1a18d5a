import logging

from django.core.management.base import BaseCommand

from surveys.selectors.submissions import submissions_unprocessed
from surveys.services.processing import submission_process

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = ("Run the processing pipeline now for every submission not yet processed; prints counts. Idempotent. "
            "A submission that fails is marked failed and the rest go on.")

    def add_arguments(self, parser):
        parser.add_argument("--form", dest="form_id", metavar="FORM_ID")

    def handle(self, *args, form_id=None, **options):
        counts = {"processed": 0, "failed": 0}
        ids = submissions_unprocessed(form_id=form_id)
        for submission_id in ids:
            try:
                state = submission_process(submission_id=submission_id).state
            except Exception:  # the database itself failed this one (the service marks any other fault)
                log.exception("submission %s could not be processed now", submission_id)
                state = "not processed"
            counts[state] = counts.get(state, 0) + 1
        left = f", not processed {counts['not processed']}" if "not processed" in counts else ""
        if counts.get("awaiting_key"):  # encrypted, their form's private key not given yet
            left = f", waiting for their key {counts['awaiting_key']}{left}"
        self.stdout.write(f"pending {len(ids)}: processed {counts['processed']}, failed {counts['failed']}{left}")
