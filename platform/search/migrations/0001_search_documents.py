import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


def index_existing_reports(apps: object, schema_editor: object) -> None:
    """Nothing: 0002 builds every document (the statement that builds them writes columns
    this migration does not have yet)."""


class Migration(migrations.Migration):
    initial = True

    dependencies = [("reports", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "report",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="reports.report",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
                (
                    "identifiers",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=100),
                        blank=True,
                        default=list,
                        size=None,
                    ),
                ),
            ],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["document"], name="search_document_fts"
                    ),
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["identifiers"], name="search_document_identifiers"
                    ),
                ]
            },
        ),
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("term", models.CharField(max_length=100, primary_key=True, serialize=False)),
            ],
            options={
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        django.contrib.postgres.indexes.OpClass("term", name="gin_trgm_ops"),
                        name="search_term_trgm",
                    )
                ]
            },
        ),
        # Entity names by trigram, for entity search (a table of the reports app).
        migrations.RunSQL(
            "CREATE INDEX search_entity_name_trgm ON reports_entity "
            "USING gin (normalized_name gin_trgm_ops)",
            "DROP INDEX IF EXISTS search_entity_name_trgm",
        ),
        migrations.RunPython(index_existing_reports, migrations.RunPython.noop),
    ]
