"""Migrations that move data: forwards and backwards keep the counts (here: the progress cells' slots)."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from surveys.models import ProgressCount

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, SLOTS = ("surveys", "0028_number_tallies"), ("surveys", "0029_progress_pending_slots")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def pending_cells(round_id):
    return sorted(ProgressCount.objects.filter(round_id=round_id, validation="pending")
                  .values_list("user_id", "received_day", "slot", "count"))


def test_pending_cells_fold_into_one_backwards_and_spread_into_slots_forwards(kazakhstan, teams):
    from enumerators.models import User
    from surveys.services.progress import progress_key
    from tests.submissions import store_checks_instance

    enum01 = User.objects.get(username="enum01")
    with transaction.atomic():
        waiting = [store_checks_instance(name=f"W{n}", sex="female") for n in range(20)]
        connection.run_on_commit.clear()  # stored and left pending: no processing task in this test
    day = progress_key(waiting[0])[8]
    slots = sorted({s.pk % 16 for s in waiting})
    spread = [(enum01.pk, day, slot, sum(1 for s in waiting if s.pk % 16 == slot)) for slot in slots]
    processed = sorted(ProgressCount.objects.filter(round_id=teams.round.pk).exclude(validation="pending")
                       .values_list("user_id", "validation", "count"))
    assert pending_cells(teams.round.pk) == spread

    migrate(BEFORE)
    with connection.cursor() as cursor:  # the table as it was before: no slot
        cursor.execute("SELECT user_id, count FROM surveys_progresscount WHERE round_id = %s AND validation = %s",
                       [teams.round.pk, "pending"])
        assert cursor.fetchall() == [(enum01.pk, 20)]

    migrate(SLOTS)
    assert pending_cells(teams.round.pk) == spread
    assert sorted(ProgressCount.objects.filter(round_id=teams.round.pk).exclude(validation="pending")
                  .values_list("user_id", "validation", "count")) == processed
