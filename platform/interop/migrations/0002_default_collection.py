from django.db import migrations

DEFAULT_ID = "3f0a6c52-2f4b-4c39-9a57-6d1c1f1b7e01"


def add_default(apps, schema_editor):
    TaxiiCollection = apps.get_model("interop", "TaxiiCollection")
    TaxiiCollection.objects.get_or_create(
        id=DEFAULT_ID,
        defaults={
            "title": "Everything you may see",
            "alias": "all",
            "description": "Every report this account may see under its clearance and this node's entitlement.",
        },
    )


def remove_default(apps, schema_editor):
    apps.get_model("interop", "TaxiiCollection").objects.filter(id=DEFAULT_ID).delete()


class Migration(migrations.Migration):
    dependencies = [("interop", "0001_taxii_and_imports")]
    operations = [migrations.RunPython(add_default, remove_default)]
