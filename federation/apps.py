from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "federation"
    verbose_name = "Federation and trust"

    def ready(self) -> None:
        from reports.services import VERSION_HOOKS

        from .services.outbox import release_local_versions

        if release_local_versions not in VERSION_HOOKS:
            VERSION_HOOKS.append(release_local_versions)
