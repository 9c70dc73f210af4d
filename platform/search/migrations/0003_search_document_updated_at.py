from django.db import migrations, models


class Migration(migrations.Migration):
    """Search orders by the document's copy of the report's updated_at, read from its own index."""

    dependencies = [("search", "0002_search_document_head")]

    operations = [
        migrations.AddField(
            model_name="searchdocument",
            name="updated_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE search_searchdocument d SET updated_at = r.updated_at "
            "FROM reports_report r WHERE r.id = d.report_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="searchdocument",
            name="updated_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="searchdocument",
            index=models.Index(fields=["-updated_at", "-report"], name="search_document_newest"),
        ),
    ]
