"""Keyed audit chain: each entry gets an HMAC under the key outside the database, and its hash
becomes sha256(previous hash || mac); existing entries are re-linked once, here, by the owner
role (the append-only trigger is lifted for this migration only). TRUNCATE is refused too."""

from typing import Any

from django.db import migrations, models

TRUNCATE_SQL = """
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_is_append_only();
"""
REMOVE_TRUNCATE_SQL = "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;"


def relink(apps: Any, schema_editor: Any) -> None:
    from audit.keyfile import mac_key
    from audit.services import entry_mac
    from federation.protocol.audithead import chain_step

    entry_model = apps.get_model("audit", "AuditEntry")
    if not entry_model.objects.exists():
        return
    key = mac_key()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        # Unique hashes: clear them first so re-linking never collides with an old value.
        cursor.execute(
            "UPDATE audit_auditentry SET hash = 'old-' || seq, prev_hash = 'prev-' || seq"
        )
        prev = "0" * 64
        for entry in entry_model.objects.order_by("seq"):
            entry.prev_hash = prev
            mac = entry_mac(entry, key)
            prev = chain_step(prev, mac)
            cursor.execute(
                "UPDATE audit_auditentry SET prev_hash = %s, mac = %s, hash = %s WHERE id = %s",
                [entry.prev_hash, mac, prev, entry.id],
            )
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="mac",
            field=models.CharField(
                default="", help_text="HMAC-SHA256, key outside the DB", max_length=64
            ),
        ),
        migrations.RunPython(relink, migrations.RunPython.noop),
        migrations.RunSQL(TRUNCATE_SQL, REMOVE_TRUNCATE_SQL),
    ]
