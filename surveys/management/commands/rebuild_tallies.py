from django.utils.translation import ngettext

from mtm.commands import DomainCommand
from surveys.models import Round
from surveys.services.tallies import round_tally_rebuild


class Command(DomainCommand):
    help = "Recount the round tables' tallies from the stored records (every round, or --round-id)."

    def add_arguments(self, parser):
        parser.add_argument("--round-id", type=int, action="append", dest="round_ids")

    def handle(self, *args, round_ids, **options):
        rounds = Round.objects.all().order_by("pk")
        if round_ids:
            rounds = rounds.filter(pk__in=round_ids)
        for round_ in rounds:
            counted = round_tally_rebuild(round_id=round_.pk)
            self.stdout.write(ngettext("%(round)s: %(count)d counted submission",
                                       "%(round)s: %(count)d counted submissions", counted)
                              % {"round": round_, "count": counted})
