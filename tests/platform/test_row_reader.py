"""`core.rows.RowReader.build` gives what `Model.from_db` gives: the same values, deferred fields and
state; it only skips `from_db`'s generic path when nothing can tell the difference (Django's own
`__init__`, `from_db` and column descriptors, and no `pre_init` / `post_init` receiver)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.signals import post_init, pre_init

from campaigns.models import Campaign
from core.rows import RowReader, _stores_plainly
from issuers.models import Company
from tests.support.issuance import company_body

pytestmark = pytest.mark.django_db

COMPANY = ["id", "owner_id", "legal_name", "country", "wallet_address"]


@pytest.fixture
def company(make_user):
    owner, _ = make_user("issuer")
    return Company.objects.create(owner=owner, **company_body(legal_name="Row Reader AG"))


def _row(reader: RowReader, pk: int) -> list:
    columns = ", ".join(reader.columns("default", "t"))
    sql = f"SELECT {columns} FROM {Company._meta.db_table} t WHERE t.id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return list(cursor.fetchone())


def test_a_built_instance_is_the_orms(company, monkeypatch):
    reader = RowReader(Company, COMPANY)
    # from_db is not called on the direct path (the check was made when the reader was built)
    monkeypatch.setattr(Company, "from_db", classmethod(lambda *a: pytest.fail("from_db was called")))
    built = reader.build("default", _row(reader, company.pk))
    monkeypatch.undo()
    orm = Company.objects.only(*COMPANY).get(pk=company.pk)
    assert type(built) is Company
    assert {n: getattr(built, n) for n in reader.names} == {n: getattr(orm, n) for n in reader.names}
    assert built.get_deferred_fields() == orm.get_deferred_fields() != set()
    assert (built._state.adding, built._state.db) == (False, "default") == (orm._state.adding, orm._state.db)
    assert built == orm and built.owner == company.owner  # relations load as on the ORM's instance
    assert built.document_cid == company.document_cid  # a deferred column loads on access
    built.legal_name = "Renamed AG"
    built.save(update_fields=["legal_name"])
    assert Company.objects.get(pk=company.pk).legal_name == "Renamed AG"


@pytest.mark.parametrize("signal", [pre_init, post_init])
def test_an_init_receiver_gets_what_from_db_sends(company, signal):
    reader = RowReader(Company, COMPANY)
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    signal.connect(receiver, sender=Company)
    try:
        built = reader.build("default", _row(reader, company.pk))
    finally:
        signal.disconnect(receiver, sender=Company)
    assert seen == [Company]
    assert built.legal_name == "Row Reader AG" and built._state.adding is False
    seen.clear()
    reader.build("default", _row(reader, company.pk))  # disconnected: the direct path again
    assert seen == []


def test_only_djangos_own_init_from_db_and_column_descriptors_are_stored_plainly(monkeypatch):
    assert _stores_plainly(Company) and _stores_plainly(Campaign)
    with monkeypatch.context() as patched:
        patched.setattr(Company, "__init__", lambda self, *args, **kwargs: None)
        assert not _stores_plainly(Company)
    with monkeypatch.context() as patched:
        patched.setattr(Company, "from_db", classmethod(lambda cls, db, names, values: None))
        assert not _stores_plainly(Company)
    with monkeypatch.context() as patched:
        patched.setattr(Company, "legal_name", property(lambda self: "x", lambda self, value: None))
        assert not _stores_plainly(Company)
    assert _stores_plainly(Company)
