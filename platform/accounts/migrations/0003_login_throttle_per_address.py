"""Sign-in lockout per (account, client address), with an account-wide row ("*") for the
ceiling across addresses. Rows from before were per username: they become account-wide rows,
so a lock in force when this runs stays in force."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_loginthrottle_totpdevice"),
    ]

    operations = [
        migrations.AlterField(
            model_name="loginthrottle",
            name="username",
            field=models.CharField(max_length=150),
        ),
        migrations.AddField(
            model_name="loginthrottle",
            name="address",
            field=models.CharField(default="*", help_text="client address, or *", max_length=45),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="loginthrottle",
            name="window_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="loginthrottle",
            constraint=models.UniqueConstraint(
                fields=("username", "address"), name="login_throttle_one_row_per_address"
            ),
        ),
    ]
