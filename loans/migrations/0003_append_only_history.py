from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("loans", "0002_operator_group")]

    operations = [append_only("loans_loanhistoryentry")]
