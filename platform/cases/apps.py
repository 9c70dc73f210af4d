from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases and risk scores"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reports.services import VERSION_HOOKS

        from .constraints import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self)

        from .services import queue_scoring

        if queue_scoring not in VERSION_HOOKS:
            VERSION_HOOKS.append(queue_scoring)
