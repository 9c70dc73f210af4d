import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations


def rebuild_documents(apps: object, schema_editor: object) -> None:
    """Nothing here any more: 0003 rebuilds every document with the code of its time (this
    migration once called the live rebuild, which now also writes 0003's column)."""


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
