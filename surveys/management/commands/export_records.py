from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mtm.commands import DomainCommand
from surveys.models import Round
from surveys.services.exports import records_write


class Command(DomainCommand):
    help = ("The anonymised records of a form in a round (after the release step) as CSV or XLSX, "
            "written as they are read.")

    def add_arguments(self, parser):
        parser.add_argument("form_id")
        parser.add_argument("--round", type=int, dest="round_number", help="round number (default: the latest)")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--labels", action="store_true", help="choice labels instead of values")
        parser.add_argument("--lang", metavar="CODE")
        parser.add_argument("--sheet", help="CSV: a repeat's path or sheet name instead of the records")
        parser.add_argument("--out", type=Path, metavar="PATH", required=True)

    def handle(self, *args, form_id, round_number, format, labels, lang, sheet, out, **options):
        rounds = Round.objects.filter(questionnaires__form_id=form_id).distinct().order_by("-number")
        if round_number is not None:
            rounds = rounds.filter(number=round_number)
        round_ = rounds.first()
        if round_ is None:
            message = (_("No form '%(form_id)s' in round %(round)s.") if round_number
                       else _("No form '%(form_id)s'.")) % {"form_id": form_id, "round": round_number}
            raise CommandError(message, returncode=2)
        try:
            with out.open("wb") as stream:
                rows = records_write(round_id=round_.pk, form_id=form_id, fmt=format, out=stream, labels=labels,
                                     lang=lang, sheet=sheet)
        except BaseException:  # no half-written file is left behind, whatever stopped it
            out.unlink(missing_ok=True)
            raise
        self.stderr.write(ngettext("wrote %(count)d record to %(path)s", "wrote %(count)d records to %(path)s",
                                   rows) % {"count": rows, "path": out})
