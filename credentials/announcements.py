"""What partners hear about credentials (webhooks): the status the API shows, which follows the
anchoring (or revocation) transaction's chain status."""

from __future__ import annotations

from typing import Any

from credentials.models import Credential, CredentialBatch
from credentials.selectors import with_shown_status
from webhooks.announcers import status_announcer

CREDENTIAL_EVENTS = {"issued": "credential.issued", "revoked": "credential.revoked"}


def _credential(pk: Any) -> dict:
    from credentials.serializers import CredentialSerializer

    row = with_shown_status(Credential.objects.select_related("institution", "batch")).get(pk=pk)
    return CredentialSerializer(row).data


CREDENTIALS = status_announcer(
    model=Credential,
    noun="credential",
    named=CREDENTIAL_EVENTS,
    annotate=with_shown_status,
    represent=_credential,
    follows={CredentialBatch: lambda pk: Credential.objects.filter(batch_id=pk).values_list("pk", flat=True)},
)
