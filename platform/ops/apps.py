from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: metrics, readiness, heartbeats, structured logs, backups."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
