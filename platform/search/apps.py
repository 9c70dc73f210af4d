from django.apps import AppConfig
from django.db.models.signals import pre_migrate


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search and pivot"

    def ready(self) -> None:
        from reports.services import VERSION_HOOKS

        from .services import index_versions

        if index_versions not in VERSION_HOOKS:
            VERSION_HOOKS.append(index_versions)
        pre_migrate.connect(_trigram_extension, sender=self)


def _trigram_extension(using: str = "default", **kwargs: object) -> None:
    """pg_trgm before any table is made, also when tables are made without migrations (tests)."""
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
