# Learning from dispositions: a configuration has a state (proposed, active, retired, rejected)
# instead of an active flag, a refit keeps its held-out evaluation, and a second trust
# administrator decides it. Existing rows: the active one stays active, the others are retired.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _states_from_flag(apps, schema_editor):
    Version = apps.get_model("cases", "ScoringConfigVersion")
    Version.objects.filter(active=True).update(state="active")
    Version.objects.filter(active=False).update(state="retired")


def _flag_from_states(apps, schema_editor):
    Version = apps.get_model("cases", "ScoringConfigVersion")
    Version.objects.update(active=False)
    Version.objects.filter(state="active").update(active=True)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_case_workflow"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="scoringconfigversion", name="one_active_config"),
        migrations.AddField(
            model_name="scoringconfigversion",
            name="state",
            field=models.CharField(
                choices=[
                    ("proposed", "Proposed"),
                    ("active", "Active"),
                    ("retired", "Retired"),
                    ("rejected", "Rejected"),
                ],
                db_index=True,
                default="retired",
                max_length=10,
            ),
        ),
        migrations.RunPython(_states_from_flag, _flag_from_states),
        migrations.RemoveField(model_name="scoringconfigversion", name="active"),
        migrations.AlterField(
            model_name="scoringconfigversion",
            name="state",
            field=models.CharField(
                choices=[
                    ("proposed", "Proposed"),
                    ("active", "Active"),
                    ("retired", "Retired"),
                    ("rejected", "Rejected"),
                ],
                db_index=True,
                default="proposed",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="scoringconfigversion",
            name="evaluation",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="for a refit: the held-out comparison with the configuration it started from",
            ),
        ),
        migrations.AddField(
            model_name="scoringconfigversion",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                help_text="the second administrator who activated or rejected a proposed refit",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="scoringconfigversion",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="scoringconfigversion",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                help_text="who activated it from a file, or proposed the refit",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="scoringconfigversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(state="active"), fields=("state",), name="one_active_config"
            ),
        ),
        migrations.AddConstraint(
            model_name="scoringconfigversion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "active"), _negated=True),
                    ("decided_by__isnull", True),
                    models.Q(("decided_by", models.F("created_by")), _negated=True),
                    _connector="OR",
                ),
                name="activated_by_a_second_administrator",
            ),
        ),
    ]
