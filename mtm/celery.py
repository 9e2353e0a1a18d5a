"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mtm.settings.local")

app = Celery("mtm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="mtm.health_check", ignore_result=False, acks_late=False, time_limit=30, soft_time_limit=20)
def health_check() -> dict[str, object]:
    """Run by a worker to prove it reaches the broker and the database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        ok = cursor.fetchone()[0] == 1
    return {"database": "ok" if ok else "unreachable", "database_name": str(connection.settings_dict["NAME"])}
