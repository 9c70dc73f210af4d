from django.db import migrations, models


def rebuild_documents(apps: object, schema_editor: object) -> None:
    """Every document again, with its head and updated_at: the indexes are dropped and built once
    at the end (at a million reports that is minutes, not the hours of maintaining them row by
    row)."""
    from search.services import reindex_all

    reindex_all(rebuild_indexes=True)


class Migration(migrations.Migration):
    """Search orders by the document's copy of the report's updated_at, read from its own index."""

    dependencies = [("search", "0002_search_document_head")]

    operations = [
        migrations.AddField(
            model_name="searchdocument",
            name="updated_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddIndex(
            model_name="searchdocument",
            index=models.Index(fields=["-updated_at", "-report"], name="search_document_newest"),
        ),
        migrations.RunPython(rebuild_documents, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="searchdocument",
            name="updated_at",
            field=models.DateTimeField(),
        ),
    ]
