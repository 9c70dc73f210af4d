"""The root key goes offline. A root that was generated on this host is exposed by definition:
its record, its private file and the manifests it signed are retired here, and the node serves
nothing until a key ceremony with an offline root (infra/KEYS.md) signs a new series; partners
pin the new root's fingerprint."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import migrations, models, transaction


def retire_online_root(apps: Any, schema_editor: Any) -> None:
    own_key = apps.get_model("federation", "OwnKey")
    own_manifest = apps.get_model("federation", "OwnManifest")
    roots = list(own_key.objects.filter(use="root").values_list("kid", flat=True))
    if not roots:
        return
    own_key.objects.filter(use="root").delete()
    own_manifest.objects.all().delete()
    folder = Path(settings.DATA_DIR) / "keys"

    def destroy() -> None:
        for kid in roots:
            path = folder / f"{kid.replace(':', '_').replace('/', '_')}.pem"
            path.unlink(missing_ok=True)

    transaction.on_commit(destroy)


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0002_partner_received_ahead"),
    ]

    operations = [
        migrations.AddField(
            model_name="ownmanifest",
            name="issued_at",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="ownkey",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending (made online, not yet vouched for by the root)"),
                    ("standby", "Standby (vouched for by the root, used after a rotation)"),
                    ("current", "Current"),
                    ("retired", "Retired (verifies what it signed before expiry)"),
                    ("revoked", "Revoked"),
                ],
                default="current",
                max_length=8,
            ),
        ),
        migrations.RunPython(retire_online_root, migrations.RunPython.noop),
    ]
