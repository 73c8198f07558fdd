"""What partners hear about credentials (webhooks): the status the API shows, which follows the
anchoring (or revocation) transaction's chain status."""

from __future__ import annotations

from typing import Any

from credentials.models import Credential, CredentialBatch
from credentials.selectors import with_shown_status
from webhooks.announcers import Announcer, by_status, shown_status_facts

CREDENTIAL_EVENTS = {"issued": "credential.issued", "revoked": "credential.revoked"}


def _credential(pk: Any) -> dict:
    from credentials.serializers import CredentialSerializer

    row = with_shown_status(Credential.objects.select_related("institution", "batch")).get(pk=pk)
    return CredentialSerializer(row).data


CREDENTIALS = Announcer(
    model=Credential,
    facts=shown_status_facts(Credential, with_shown_status),
    classify=by_status("credential", CREDENTIAL_EVENTS),
    represent=_credential,
    event_types=frozenset([*CREDENTIAL_EVENTS.values(), "credential.updated"]),
    follows={CredentialBatch: lambda pk: Credential.objects.filter(batch_id=pk).values_list("pk", flat=True)},
)
