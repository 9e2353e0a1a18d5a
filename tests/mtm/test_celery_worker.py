"""The real services: PostgreSQL, Redis and a Celery worker process."""

import pytest
from django.conf import settings
from django.db import connection

from mtm.celery import health_check


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_against_the_test_database(celery_worker_process):
    result = health_check.delay().get(timeout=30)

    assert connection.vendor == "postgresql"
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert result == {"database": "ok", "database_name": connection.settings_dict["NAME"]}
