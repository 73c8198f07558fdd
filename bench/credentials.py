"""Credential verification from the cache against verification from the chain, and the gas the
platform pays per credential issued singly or in a Merkle batch, all in one run.

Method: a fresh suite on the bench's anvil; an institution and COUNT single credentials plus one
batch of BATCH credentials are issued through the services and the outbox (sender + confirmer, as in
production). Cached: `verify_credential(document=...)` for each single credential (fingerprinting,
the lookup and the verdict). Chain: the same calls after the rows are marked unconfirmed, so each
takes the chain fallback (credentialIdOfFingerprint, credentialStatus, institutionOf against anvil
over HTTP); the fallback's answer cache is cleared first and every credential is asked once, so it
never hits. The second row repeats both through `POST /api/blockchain/verify/` with Django's test
client (the whole API stack in process, no network), whose fixed cost narrows the ratio. p50 of
each. Gas: the receipts' gasUsed of the outbox rows.
"""

from __future__ import annotations

import json
import statistics
import time

from django.conf import settings
from django.core.cache import cache
from django.test import Client
from eth_account import Account

from bench.common import BenchContext, Measurement, reset_chain_tables, settle_outbox
from blockchain.chain.client import build_web3, get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import ChainTransaction
from contracts.deployment import deploy_suite_onchain, record_suite

TITLE = "Credential verification (cache vs chain) and gas per credential"

COUNT = 200
BATCH = 256
SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def _api_verifications(client: Client, documents: list[dict]) -> tuple[list[float], set[str]]:
    latencies, sources = [], set()
    for document in documents:
        started = time.perf_counter()
        response = client.post(
            "/api/blockchain/verify/", json.dumps({"document": document}), content_type="application/json"
        )
        latencies.append((time.perf_counter() - started) * 1000)
        body = response.json()
        if response.status_code != 200 or not body["valid"]:
            raise RuntimeError(f"verification failed: {response.status_code} {body}")
        sources.add(body["source"])
    return latencies, sources


def _service_verifications(documents: list[dict]) -> tuple[list[float], set[str]]:
    from credentials.verification import verify_credential

    latencies, sources = [], set()
    for document in documents:
        started = time.perf_counter()
        result = verify_credential(document=document)
        latencies.append((time.perf_counter() - started) * 1000)
        if not result.valid:
            raise RuntimeError(f"verification failed: {result}")
        sources.add(result.source)
    return latencies, sources


def _both_paths(measure) -> tuple[list[float], list[float]]:
    """(cache latencies, chain latencies) of `measure(documents)` over the single credentials."""
    from credentials.models import Credential, CredentialStatus

    measure(_SINGLES[:10])  # warm-up: connections, caches, imports
    cached, cached_sources = measure(_SINGLES)
    cache.clear()  # the fallback's answer cache: every chain request below is a first one
    Credential.objects.filter(batch__isnull=True).update(status=CredentialStatus.PENDING)
    try:
        chain, chain_sources = measure(_SINGLES)
    finally:
        Credential.objects.filter(batch__isnull=True).update(status=CredentialStatus.ISSUED)
    if cached_sources != {"cache"} or chain_sources != {"chain"}:
        raise RuntimeError(f"wrong paths measured: cached {cached_sources}, chain {chain_sources}")
    return cached, chain


_SINGLES: list[dict] = []


def run(ctx: BenchContext) -> list[Measurement]:
    from credentials import services
    from credentials.models import Credential

    w3 = build_web3(ctx.node.url)
    deployed = deploy_suite_onchain(w3=w3, signer=get_signer())
    record_suite(chain_id=settings.CHAIN_ID, deployed=deployed)
    get_web3.cache_clear()
    reset_chain_tables()
    Credential.objects.all().delete()
    cache.clear()

    institution = services.upsert_institution(address=Account.create().address, name="Bench University")
    settle_outbox()
    institution.refresh_from_db()
    run_id = str(time.time_ns())  # JSON numbers beyond 2**53 are not canonical (RFC 8785)
    singles = [{"bench": run_id, "n": i, "degree": "MSc"} for i in range(COUNT)]
    for document in singles:
        services.issue_credential(
            actor=None,
            institution=institution,
            subject_wallet=SUBJECT,
            credential_type="diploma",
            document=document,
        )
    services.issue_batch(
        actor=None,
        institution=institution,
        items=[
            {
                "subject_wallet": SUBJECT,
                "credential_type": "diploma",
                "document": {"bench": run_id, "batch": i},
            }
            for i in range(BATCH)
        ],
    )
    settle_outbox()

    _SINGLES[:] = singles
    cached_ms, chain_ms = _both_paths(_service_verifications)
    client = Client()
    api_cached_ms, api_chain_ms = _both_paths(lambda docs: _api_verifications(client, docs))

    single_gas = [t.gas_used for t in ChainTransaction.objects.filter(kind="credentials.issue")]
    batch_tx = ChainTransaction.objects.get(kind="credentials.anchor_batch")
    per_leaf = batch_tx.gas_used / BATCH
    cached_p50, chain_p50 = statistics.median(cached_ms), statistics.median(chain_ms)
    api_cached_p50, api_chain_p50 = statistics.median(api_cached_ms), statistics.median(api_chain_ms)
    return [
        Measurement(
            what=f"credential verify p50, cache vs chain fallback ({COUNT} credentials, verify_credential)",
            unit="ms",
            ours=round(cached_p50, 3),
            naive=round(chain_p50, 3),
            higher_is_better=False,
            target="cache ≥ 20× faster",
            target_ratio=20,
            samples={"ours": [round(x, 3) for x in cached_ms], "naive": [round(x, 3) for x in chain_ms]},
            extra={
                "cached_p95_ms": round(statistics.quantiles(cached_ms, n=20)[18], 3),
                "chain_p95_ms": round(statistics.quantiles(chain_ms, n=20)[18], 3),
            },
        ),
        Measurement(
            what=f"the same through POST /api/blockchain/verify/ ({COUNT} credentials, in-process client)",
            unit="ms",
            ours=round(api_cached_p50, 3),
            naive=round(api_chain_p50, 3),
            higher_is_better=False,
            samples={
                "ours": [round(x, 3) for x in api_cached_ms],
                "naive": [round(x, 3) for x in api_chain_ms],
            },
        ),
        Measurement(
            what=f"gas per credential, platform batch of {BATCH} vs single issueCredential",
            unit="gas",
            ours=round(per_leaf, 1),
            naive=statistics.median(single_gas),
            higher_is_better=False,
            samples={"naive": single_gas[:50]},
            extra={"batch_tx_gas": batch_tx.gas_used},
        ),
    ]
