from django.apps import AppConfig


class EnumeratorsConfig(AppConfig):
    name = "enumerators"
    verbose_name = "Field staff"
