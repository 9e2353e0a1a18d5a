from django.utils.translation import gettext as _

from enumerators.services.accounts import enumerator_create_or_update
from mtm.commands import DomainCommand


class Command(DomainCommand):
    help = "Create (or update) an enumerator account that can submit to the given forms."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password")
        parser.add_argument("--form", action="append", default=[], dest="forms", metavar="FORM_ID")
        parser.add_argument("--location", action="append", default=[], dest="locations", metavar="CODE")
        parser.add_argument("--sex", choices=["m", "f"])
        parser.add_argument("--supervisor", metavar="USERNAME")
        parser.add_argument("--phone")

    def handle(self, *args, **options):
        enumerator = enumerator_create_or_update(
            username=options["username"],
            password=options["password"],
            sex=options["sex"],
            phone=options["phone"],
            supervisor_username=options["supervisor"],
            form_ids=options["forms"],
            location_codes=options["locations"],
        )
        no_assignments = _("(no assignments)")
        rounds = ", ".join(str(a.round) for a in enumerator.assignments.select_related("round__survey"))
        self.stdout.write(f"{enumerator.user.username} {rounds or no_assignments}")
