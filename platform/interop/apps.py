from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "interop"
    verbose_name = "STIX and TAXII"

    def ready(self) -> None:
        from reports.services import VERSION_HOOKS

        from .services import project_versions

        if project_versions not in VERSION_HOOKS:
            VERSION_HOOKS.append(project_versions)
