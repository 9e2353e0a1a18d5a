import logging

from django.conf import settings
from django.utils.translation import gettext as _

from mtm.commands import DomainCommand
from surveys.selectors.submissions import submissions_unprocessed
from surveys.services.processing import submission_process, submissions_process

log = logging.getLogger(__name__)


class Command(DomainCommand):
    help = ("Run the processing pipeline now for every submission not yet processed; prints counts. Idempotent. "
            "A submission that fails is marked failed and the rest go on.")

    def add_arguments(self, parser):
        parser.add_argument("--form", dest="form_id", metavar="FORM_ID")

    def handle(self, *args, form_id=None, **options):
        counts = {"processed": 0, "failed": 0}
        ids = submissions_unprocessed(form_id=form_id)
        size = settings.MTM_PROCESS_BATCH
        for start in range(0, len(ids), size):  # in batches, as the worker (docs/adr/0018)
            for state in self._batch(ids[start:start + size]):
                counts[state] = counts.get(state, 0) + 1
        line = _("pending %(pending)d: processed %(processed)d, failed %(failed)d") % {
            "pending": len(ids), "processed": counts["processed"], "failed": counts["failed"]}
        if counts.get("awaiting_key"):  # encrypted, their form's private key not given yet
            line += _(", waiting for their key %(count)d") % {"count": counts["awaiting_key"]}
        if "not processed" in counts:
            line += _(", not processed %(count)d") % {"count": counts["not processed"]}
        self.stdout.write(line)

    @staticmethod
    def _batch(ids: list[int]) -> list[str]:
        try:
            return [o.state for o in submissions_process(submission_ids=ids)]
        except Exception:  # the database itself failed the batch (the service marks any other fault): one by one
            log.exception("a batch of %s submissions could not be processed now; one by one", len(ids))
        states = []
        for submission_id in ids:
            try:
                states.append(submission_process(submission_id=submission_id).state)
            except Exception:
                log.exception("submission %s could not be processed now", submission_id)
                states.append("not processed")
        return states
