from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate

        from reports.services import VERSION_HOOKS

        from . import hooks

        user_logged_in.connect(hooks.on_signed_in, dispatch_uid="audit-signed-in")
        user_login_failed.connect(hooks.on_sign_in_failed, dispatch_uid="audit-sign-in-failed")
        post_migrate.connect(hooks.ensure_guard, sender=self, dispatch_uid="audit-guard")
        if hooks.record_report_versions not in VERSION_HOOKS:
            VERSION_HOOKS.append(hooks.record_report_versions)
