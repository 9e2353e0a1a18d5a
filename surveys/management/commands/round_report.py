from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from mtm.commands import DomainCommand
from mtm.locale import command_language, supported
from surveys.presentation.reports import FORMATS, render_report
from surveys.selectors.reports import round_tabulate


class Command(DomainCommand):
    help = "The round's tabulation (INTERFACES.md schema); --compare M adds round M of the same survey."

    def add_arguments(self, parser):
        parser.add_argument("form_id")
        parser.add_argument("--round", type=int, dest="round_number")
        parser.add_argument("--by", metavar="FIELD")
        parser.add_argument("--compare", type=int, metavar="M")
        parser.add_argument("--lang", metavar="CODE")
        parser.add_argument("--format", choices=sorted(FORMATS), default="json")
        parser.add_argument("--out", type=Path, metavar="PATH")

    def language(self, options):
        """``--lang`` picks the labels' language; the headers follow it when the interface has it."""
        return supported(options.get("lang")) or command_language()

    def handle(self, *args, form_id, round_number, by, compare, lang, format, out, **options):
        report = round_tabulate(form_id=form_id, round_number=round_number, by=by, compare=compare, lang=lang)
        if format == "xlsx" and out is None:
            raise CommandError(_("--format xlsx needs --out PATH."), returncode=2)
        body = render_report(report, format)
        if out is not None:
            out.write_bytes(body)
            self.stderr.write(_("wrote %(path)s") % {"path": out})
        else:
            self.stdout.write(body.decode("utf-8"), ending="")


