import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations


def rebuild_documents(apps: object, schema_editor: object) -> None:
    """Every document again, with its head: the indexes are dropped and built once at the end
    (at a million reports that is minutes, not the hours of maintaining them row by row)."""
    from search.services import reindex_all

    reindex_all(rebuild_indexes=True)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_documents")]

    operations = [
        migrations.AddField(
            model_name="searchdocument",
            name="head",
            field=django.contrib.postgres.search.SearchVectorField(null=True),
        ),
        migrations.AddIndex(
            model_name="searchdocument",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["head"], name="search_document_head"
            ),
        ),
        migrations.RunPython(rebuild_documents, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="searchdocument",
            name="head",
            field=django.contrib.postgres.search.SearchVectorField(),
        ),
    ]
