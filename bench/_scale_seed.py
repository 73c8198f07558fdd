"""The scale bench's data: 1,000,000 credentials, 100,000 investments and 200,000 chain events,
written with PostgreSQL COPY and INSERT … SELECT generate_series (never the ORM's save path).

What is on chain for real (so reconcile and rebuild have something true to read): 10 institutions,
10,000 singly anchored credentials (issueCredential) and 10 Merkle batches of 1,000 (anchorBatch).
Their event rows are the chain's own logs, decoded by the platform's decoder and copied in; their
outbox rows carry the real hashes, nonces and signed bytes.

What is only in the database (a platform's history the bench cannot afford to replay on anvil):
980 further batches of 1,000 credentials, 2,000 issuer companies with one campaign each (1,250
active, 575 successful, 175 failed), 100,000 investments by 20,000 investors, 43,125 share
certificates of the successful campaigns, and their events (CampaignCreated, InvestmentRecorded,
CampaignFinalized, Transfer + MetadataUpdate + CertificateMinted), in blocks mined empty for the
purpose (real block numbers, hashes and times) behind the indexer's cursor. Every row satisfies the
models' constraints and foreign keys; hashes are sha256-derived, so they are unique and well formed.
"""

from __future__ import annotations

import functools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from eth_utils import keccak, to_checksum_address

from bench._scale_chain import send_mined
from blockchain.chain.abi import interface
from blockchain.chain.client import get_web3, rpc_batch
from blockchain.chain.signer import get_signer
from blockchain.indexing.events import WatchedAddresses, decode_logs, with_block_times

CREDENTIALS = 1_000_000
SINGLES = 10_000  # every 100th credential id; all on chain
BATCH_SIZE = 1_000
BATCHES = (CREDENTIALS - SINGLES) // BATCH_SIZE  # 990
CHAIN_BATCHES = 10  # of those, anchored on chain for real
INSTITUTIONS = 10
INVESTORS = 20_000
COMPANIES = 2_000  # one campaign each
ACTIVE, SUCCESSFUL, FAILED = 1_250, 575, 175
PER_CAMPAIGN = 50  # investments per campaign: 100,000
HISTORY_BLOCKS = 500
TYPES = ("diploma", "kyc", "accreditation", "certificate")
CERT_ID_OFFSET = 1_000_000_000  # seeded token ids stay clear of what the bench mints on chain later
PUBLIC_DOC_CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"


def _h(tag: str, n: int) -> str:
    return "0x" + keccak(text=f"{tag}:{n}").hex()


def sha(tag: str, n: int) -> str:
    """The same value as the SQL `_sha(tag, n)` (PostgreSQL has sha256, not keccak)."""
    import hashlib

    return "0x" + hashlib.sha256(f"{tag}:{n}".encode()).hexdigest()


@functools.cache
def clone(n: int) -> str:
    """Campaign n's contract address (EIP-55)."""
    return to_checksum_address(sha("scale-clone", n)[:42])


@dataclass
class ChainFacts:
    """The real on-chain part, known before the database is seeded."""

    institutions: list[tuple[str, str, str]] = field(default_factory=list)  # (address, name, tx)
    singles: list[dict] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)
    raw_by_hash: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # tx -> (nonce, raw)
    events: list = field(default_factory=list)  # DecodedEvent of the real logs
    history: list[tuple[int, str, int]] = field(default_factory=list)  # (number, hash, timestamp)
    head: int = 0


@dataclass
class SeedInfo:
    base_id: int  # credential ids are base_id + n, n in [0, CREDENTIALS)
    singles: list[dict]
    seconds: dict[str, float]
    counts: dict[str, int]


def build_chain(addresses: dict[str, str]) -> ChainFacts:
    """History blocks, then the real credential world: institutions, single credentials, batches."""
    w3 = get_web3()
    facts = ChainFacts()
    vault_address = addresses["CredentialVault"]
    vault = interface("CredentialVault")
    signer = get_signer()
    # Empty blocks the seeded (database-only) history lives in, two seconds apart.
    first = w3.eth.block_number + 1
    for _ in range(0, HISTORY_BLOCKS, 50):  # anvil mines ~200 blocks/s: stay inside the RPC timeout
        w3.provider.make_request("anvil_mine", [hex(50), hex(2)])
    headers = rpc_batch(
        w3, [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, first + HISTORY_BLOCKS)]
    )
    facts.history = [(int(h["number"], 16), h["hash"], int(h["timestamp"], 16)) for h in headers]
    start_block = w3.eth.block_number + 1

    institutions = [
        (to_checksum_address("0x" + keccak(text=f"scale-institution-{i}")[:20].hex()), f"Scale Institute {i}")
        for i in range(INSTITUTIONS)
    ]
    txs = [
        {
            "to": vault_address,
            "data": vault.encode_call("upsertInstitution", [address, name, "", i == 0, True]),
            "gas": 300_000,
        }
        for i, (address, name) in enumerate(institutions)
    ]
    from blockchain.chain.bindings import call_many
    from credentials.fingerprints import fingerprint_of, type_hash

    (issued_before, batches_before), _ = call_many(
        [
            ("CredentialVault", vault_address, "credentialCount", []),
            ("CredentialVault", vault_address, "batchCount", []),
        ]
    )
    singles = []
    for k in range(SINGLES):
        document = {"bench": "scale", "n": k * 100}
        credential_type = TYPES[k % len(TYPES)]
        single = {
            "k": k,
            "document": document,
            "fingerprint": fingerprint_of(document),
            "ref": _h("scale-ref", k * 100),
            "subject": _wallet(k % INVESTORS),
            "type": credential_type,
            "institution": institutions[k % INSTITUTIONS][0],
            "onchain_id": int(issued_before) + k + 1,  # the vault counts on from its last id
        }
        singles.append(single)
        request = (
            single["institution"],
            to_checksum_address(single["subject"]),
            type_hash(credential_type),
            bytes.fromhex(single["fingerprint"][2:]),
            bytes.fromhex(single["ref"][2:]),
            0,
        )
        txs.append(
            {"to": vault_address, "data": vault.encode_call("issueCredential", [request]), "gas": 300_000}
        )
    batches = []
    for b in range(CHAIN_BATCHES):
        root = _h("scale-root", b)
        institution = institutions[b % INSTITUTIONS][0]
        batches.append(
            {
                "b": b,
                "root": root,
                "institution": institution,
                "onchain_batch_id": int(batches_before) + b + 1,
            }
        )
        txs.append(
            {
                "to": vault_address,
                "data": vault.encode_call("anchorBatch", [bytes.fromhex(root[2:]), BATCH_SIZE, institution]),
                "gas": 300_000,
            }
        )
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    started = time.perf_counter()
    hashes = send_mined(txs, per_block=250, keep_raw=facts.raw_by_hash)
    print(
        f"[bench]     {len(txs):,} vault transactions signed and mined in "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )
    for i, (address, name) in enumerate(institutions):
        facts.institutions.append((address, name, hashes[i]))
    for k, single in enumerate(singles):
        single["tx"] = hashes[INSTITUTIONS + k]
        single["nonce"] = nonce + INSTITUTIONS + k
    for b, batch in enumerate(batches):
        batch["tx"] = hashes[INSTITUTIONS + SINGLES + b]
        batch["nonce"] = nonce + INSTITUTIONS + SINGLES + b
    facts.singles, facts.batches = singles, batches
    facts.head = w3.eth.block_number
    logs = w3.provider.make_request(
        "eth_getLogs",
        [{"fromBlock": hex(start_block), "toBlock": hex(facts.head), "address": [vault_address]}],
    )["result"]
    facts.events = with_block_times(decode_logs(logs, watched=WatchedAddresses(settings.CHAIN_ID)))
    expected = INSTITUTIONS + SINGLES + CHAIN_BATCHES
    if len(facts.events) != expected:
        raise RuntimeError(f"expected {expected} vault events on chain, found {len(facts.events)}")
    return facts


@functools.cache
def _checksummed_wallet(n: int) -> str:
    return to_checksum_address(_wallet(n))


def _wallet(n: int) -> str:
    """Investor n's wallet, the same formula as the SQL below (lower-case hex of md5s)."""
    import hashlib

    return "0x" + hashlib.md5(f"w{n}".encode()).hexdigest() + hashlib.md5(f"x{n}".encode()).hexdigest()[:8]  # noqa: S324


WALLET_SQL = "'0x' || md5('w' || ({n})::text) || substr(md5('x' || ({n})::text), 1, 8)"


def _sha(tag: str, expr: str) -> str:
    return f"'0x' || encode(sha256(('{tag}:' || ({expr})::text)::bytea), 'hex')"


def _share_id_sql() -> str:
    return "translate(substr(encode(uuid_send(gen_random_uuid()), 'base64'), 1, 22), '+/', '-_')"


def seed(facts: ChainFacts, addresses: dict[str, str]) -> SeedInfo:
    from django.contrib.contenttypes.models import ContentType

    from campaigns.models import Campaign, Investment, ShareCertificate
    from credentials.models import Credential, CredentialBatch, Institution

    seconds: dict[str, float] = {}
    ct = {
        m.__name__: ContentType.objects.get_for_model(m).pk
        for m in (Credential, CredentialBatch, Institution, Campaign, Investment, ShareCertificate)
    }
    signer = get_signer().address
    lane = to_checksum_address("0x" + keccak(text="scale-signer-lane")[:20].hex())  # the history's nonce lane
    chain_id = settings.CHAIN_ID
    block_of = {e.tx_hash: e for e in facts.events}
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as c:
        cur = c.cursor  # psycopg 3
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cur.execute("SET LOCAL work_mem = '64MB'")
        # A bulk load's usual shape: the rows are valid by construction (their foreign keys are
        # checked below, in bulk), so no per-row deferred FK trigger; the big tables' secondary
        # indexes and unique constraints are dropped and built again afterwards by one sort each,
        # with the same names and definitions.
        cur.execute("SET LOCAL session_replication_role = replica")
        recreate = _drop_secondary_indexes(cur, BULK_TABLES)
        cur.execute(
            "CREATE TEMPORARY TABLE scale_blocks (number bigint PRIMARY KEY, hash varchar(66), ts"
            " timestamptz)"
            " ON COMMIT DROP"
        )
        with cur.copy("COPY scale_blocks (number, hash, ts) FROM STDIN") as copy:
            for number, block_hash, ts in facts.history:
                copy.write_row((number, block_hash, _dt(ts)))

        def next_id(table: str) -> int:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 # nosec B608
            return cur.fetchone()[0]

        last = [time.perf_counter()]

        def step(name: str) -> None:
            now = time.perf_counter()
            seconds[name] = round(now - last[0], 2)
            last[0] = now

        step("start")
        # -- users: investors (verified wallets) and issuers -------------------------------------
        user0 = next_id("accounts_user")
        cur.execute(
            f"""
            INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email,
                is_staff, is_active, date_joined, role, wallet_address, wallet_verified, wallet_verified_at,
                token_generation)
            SELECT {user0} + n, '!', false, 'scale-investor-' || n, '', '', 'investor' || n || '@scale.bench',
                false, true, now() - interval '400 days', 'investor', {WALLET_SQL.format(n="n")}, true,
                now() - interval '399 days', 0
            FROM generate_series(0, {INVESTORS - 1}) n
            """  # noqa: S608 # nosec B608
        )
        issuer0 = user0 + INVESTORS
        cur.execute(
            f"""
            INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email,
                is_staff, is_active, date_joined, role, wallet_address, wallet_verified, token_generation)
            SELECT {issuer0} + n, '!', false, 'scale-issuer-' || n, '', '', 'issuer' || n || '@scale.bench',
                false, true, now() - interval '400 days', 'issuer', NULL, false, 0
            FROM generate_series(0, {COMPANIES - 1}) n
            """  # noqa: S608 # nosec B608
        )
        step("users")

        # -- institutions and batches (COPY: their on-chain facts come from Python) ---------------
        inst0 = next_id("credentials_institution")
        now = datetime.now(tz=UTC)
        with cur.copy(
            "COPY credentials_institution (id, address, name, metadata_uri, kyc_provider, active,"
            " sync_status,"
            " upsert_attempt, last_chain_error, synced_tx_hash, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i, (address, name, tx) in enumerate(facts.institutions):
                copy.write_row((inst0 + i, address, name, "", i == 0, True, "synced", 1, "", tx, now, now))
        batch0 = next_id("credentials_credentialbatch")
        chain_roots = {b["b"]: b for b in facts.batches}
        history = facts.history
        with cur.copy(
            "COPY credentials_credentialbatch (id, public_id, merkle_root, count, status, onchain_batch_id,"
            " anchored_tx_hash, anchored_at, anchor_attempt, last_chain_error, created_at, institution_id)"
            " FROM STDIN"
        ) as copy:
            for b in range(BATCHES):
                real = chain_roots.get(b)
                if real is not None:
                    event = block_of[real["tx"]]
                    root, tx, anchored = real["root"], real["tx"], _dt(event.block_timestamp)
                    onchain = real["onchain_batch_id"]
                else:
                    number, _hash, ts = history[b % len(history)]
                    root, tx, anchored, onchain = (
                        sha("scale-root", b),
                        sha("scale-batch-tx", b),
                        _dt(ts),
                        b + 1,
                    )
                copy.write_row(
                    (
                        batch0 + b,
                        uuid.uuid4(),
                        root,
                        BATCH_SIZE,
                        "anchored",
                        onchain,
                        tx,
                        anchored,
                        1,
                        "",
                        anchored,
                        inst0 + b % INSTITUTIONS,
                    )
                )
        step("institutions + batches")

        # -- credentials: 990,000 batched (generate_series), 10,000 single (COPY) ----------------
        cred0 = next_id("credentials_credential")
        # o: the batched ordinal; its id skips every 100th n (the singles' ids)
        n_of_o = "(o + o / 99 + 1)"
        cur.execute(
            f"""
            INSERT INTO credentials_credential (id, public_id, share_id, credential_ref, institution_id,
                subject_wallet, credential_type, document, fingerprint, onchain_id, batch_id, leaf, proof,
                expires_at, status, issued_at, issued_tx_hash, issue_attempt, revocation_reason,
                revoke_attempt, revoked_tx_hash, last_chain_error, created_at, updated_at)
            SELECT {cred0} + {n_of_o}, gen_random_uuid(), {_share_id_sql()}, {_sha("scale-ref", n_of_o)},
                {inst0} + (o / {BATCH_SIZE}) % {INSTITUTIONS}, {WALLET_SQL.format(n=f"o % {INVESTORS}")},
                (ARRAY{list(TYPES)})[1 + o % {len(TYPES)}],
                jsonb_build_object('bench', 'scale', 'n', {n_of_o}), {_sha("scale-fp", n_of_o)}, NULL,
                {batch0} + o / {BATCH_SIZE}, {_sha("scale-leaf", n_of_o)}, '[]'::jsonb,
                CASE WHEN o % 5 = 0 THEN b.anchored_at + interval '3 years' END, 'issued', b.anchored_at,
                b.anchored_tx_hash, 1, '', 0, '', '', b.anchored_at - interval '1 hour', b.anchored_at
            FROM generate_series(0, {BATCHES * BATCH_SIZE - 1}) o
            JOIN credentials_credentialbatch b ON b.id = {batch0} + o / {BATCH_SIZE}
            """  # noqa: S608 # nosec B608
        )
        step("credentials (batched, INSERT … SELECT)")
        with cur.copy(
            "COPY credentials_credential (id, public_id, share_id, credential_ref, institution_id,"
            " subject_wallet, credential_type, document, fingerprint, onchain_id, leaf, proof, status,"
            " issued_at, issued_tx_hash, issue_attempt, revocation_reason, revoke_attempt, revoked_tx_hash,"
            " last_chain_error, created_at, updated_at) FROM STDIN"
        ) as copy:
            for s in facts.singles:
                issued = _dt(block_of[s["tx"]].block_timestamp)
                copy.write_row(
                    (
                        cred0 + s["k"] * 100,
                        uuid.uuid4(),
                        _share_id(),
                        s["ref"],
                        inst0 + facts_index(facts, s["institution"]),
                        s["subject"],
                        s["type"],
                        json.dumps(s["document"]),
                        s["fingerprint"],
                        s["onchain_id"],
                        "",
                        "[]",
                        "issued",
                        issued,
                        s["tx"],
                        1,
                        "",
                        0,
                        "",
                        "",
                        issued,
                        issued,
                    )
                )
        step("credentials (single, COPY)")

        # -- companies, campaigns, investments, certificates --------------------------------------
        cur.execute(
            "CREATE TEMPORARY TABLE scale_clones (n integer PRIMARY KEY, address varchar(42)) ON COMMIT DROP"
        )
        with cur.copy("COPY scale_clones (n, address) FROM STDIN") as copy:
            for n in range(COMPANIES):
                copy.write_row((n, clone(n)))
        comp0, camp0 = next_id("issuers_company"), next_id("campaigns_campaign")
        inv0, cert0 = next_id("campaigns_investment"), next_id("campaigns_sharecertificate")
        cur.execute(
            f"""
            INSERT INTO issuers_company (id, owner_id, legal_name, registration_number, country,
                wallet_address,
                document_cid, kyb_status, kyb_credential_fingerprint, kyb_credential_id, rejection_reason,
                registration_status, register_attempt, last_chain_error, registered_tx_hash, registered_at,
                reviewed_at, created_at, updated_at)
            SELECT {comp0} + n, {issuer0} + n, 'Scale Issuer ' || n || ' AG', 'SC-' || n,
                (ARRAY['CH','DE','US','GB','FR'])[1 + n % 5], {WALLET_SQL.format(n="1000000 + n")},
                '{PUBLIC_DOC_CID}', 'approved', '', '', '', 'registered', 1, '', {_sha("scale-reg-tx", "n")},
                now() - interval '300 days', now() - interval '301 days', now() - interval '320 days',
                now() - interval '300 days'
            FROM generate_series(0, {COMPANIES - 1}) n
            """  # noqa: S608 # nosec B608
        )
        # Campaign n: active (n < ACTIVE), successful, failed; created over the last year, n=0 newest.
        status = (
            f"CASE WHEN n < {ACTIVE} THEN 'active' WHEN n < {ACTIVE + SUCCESSFUL} THEN 'successful' "
            "ELSE 'failed' END"
        )
        cur.execute(
            f"""
            INSERT INTO campaigns_campaign (id, public_id, campaign_ref, issuer_id, title, description, goal,
                hard_cap, min_investment, share_price, starts_at, ends_at, status, contract_address,
                deploy_attempt, finalize_attempt, last_chain_error, raised, pending_amount, investor_count,
                certificate_batches, submitted_at, approved_at, activated_at, closed_at, cancellation_reason,
                created_tx_hash, finalized_tx_hash, created_at, updated_at)
            SELECT {camp0} + n, gen_random_uuid(), {_sha("scale-campaign-ref", "n")}, {comp0} + n,
                'Scale campaign ' || n, 'A campaign of the scale bench.', 4000, 10000, 10, 1,
                t - interval '1 day', t + interval '60 days', {status},
                (SELECT a.address FROM scale_clones a WHERE a.n = s.n), 1,
                CASE WHEN n < {ACTIVE} THEN 0 ELSE 1 END, '',
                    CASE WHEN n < {ACTIVE + SUCCESSFUL} THEN 5000 ELSE 2500 END,
                0, {PER_CAMPAIGN}, CASE WHEN n >= {ACTIVE} AND n < {ACTIVE + SUCCESSFUL} THEN 1 ELSE 0 END,
                t - interval '3 days', t - interval '2 days', t,
                    CASE WHEN n >= {ACTIVE} THEN t + interval '60 days' END,
                '', {_sha("scale-create-tx", "n")},
                    CASE WHEN n >= {ACTIVE} THEN {_sha("scale-finalize-tx", "n")} ELSE '' END,
                t - interval '4 days', t
            FROM (SELECT n, now() - (n * interval '4 hours') AS t FROM generate_series(0,
                {COMPANIES - 1}) n) s
            """  # noqa: S608 # nosec B608
        )
        # Investment i: campaign i / PER_CAMPAIGN, investor i % INVESTORS.
        cur.execute(
            f"""
            INSERT INTO campaigns_investment (id, public_id, investment_ref, campaign_id, investor_id,
                investor_wallet, amount, status, record_attempt, cancel_attempt, recorded_tx_hash,
                confirmed_at, cancelled_tx_hash, rejection_reason, rejection_notes, last_chain_error,
                created_at, updated_at)
            SELECT {inv0} + i, gen_random_uuid(), {_sha("scale-investment-ref", "i")},
                {camp0} + i / {PER_CAMPAIGN},
                {user0} + i % {INVESTORS}, {WALLET_SQL.format(n=f"i % {INVESTORS}")},
                CASE WHEN i / {PER_CAMPAIGN} < {ACTIVE + SUCCESSFUL} THEN 100 ELSE 50 END,
                CASE WHEN i / {PER_CAMPAIGN} < {ACTIVE + SUCCESSFUL} THEN 'confirmed' ELSE 'refunded' END,
                1, 0, {_sha("scale-record-tx", "i")},
                    c.activated_at + (i % {PER_CAMPAIGN}) * interval '1 hour',
                '', '', '', '',
                    c.activated_at + (i % {PER_CAMPAIGN}) * interval '1 hour' - interval '1 minute',
                c.activated_at + (i % {PER_CAMPAIGN}) * interval '1 hour'
            FROM generate_series(0, {COMPANIES * PER_CAMPAIGN - 1}) i
            JOIN campaigns_campaign c ON c.id = {camp0} + i / {PER_CAMPAIGN}
            """  # noqa: S608 # nosec B608
        )
        first_successful = ACTIVE * PER_CAMPAIGN
        certificates = SUCCESSFUL * PER_CAMPAIGN
        cur.execute(
            f"""
            INSERT INTO campaigns_sharecertificate (id, investment_id, campaign_id, certificate_ref,
                shares, uri,
                mint_batch, status, token_id, owner, minted_tx_hash, last_chain_error, created_at, updated_at)
            SELECT {cert0} + j, {inv0} + {first_successful} + j,
                {camp0} + ({first_successful} + j) / {PER_CAMPAIGN},
                {_sha("scale-cert-ref", "j")}, 100, '', 1, 'minted', {CERT_ID_OFFSET} + j + 1,
                {WALLET_SQL.format(n=f"({first_successful} + j) % {INVESTORS}")},
                {_sha("scale-mint-tx", f"({first_successful} + j) / {PER_CAMPAIGN}")}, '',
                    now() - interval '10 days',
                now() - interval '10 days'
            FROM generate_series(0, {certificates - 1}) j
            """  # noqa: S608 # nosec B608
        )
        step("companies, campaigns, investments, certificates")

        # -- the outbox: real rows for the on-chain part (COPY), confirmed history for the rest ---
        tx0 = next_id("blockchain_chaintransaction")
        columns = (
            "id, kind, idempotency_key, chain_id, contract_name, contract_address, function, args, calldata,"
            " value, content_type_id, object_id, status, signer, ordering_key, nonce, gas_limit,"
            " max_fee_per_gas,"
            " max_priority_fee_per_gas, raw_tx, tx_hash, attempts, error_code, last_error, gas_used,"
            " effective_gas_price, block_number, block_hash, created_at, updated_at, signed_at,"
            " sent_at, mined_at,"
            " confirmed_at"
        )
        vault = addresses["CredentialVault"]
        real_rows = []
        for i, (_address, _name, tx) in enumerate(facts.institutions):
            real_rows.append(
                (
                    "credentials.upsert_institution",
                    f"scale:institution:{i}",
                    "upsertInstitution",
                    ct["Institution"],
                    inst0 + i,
                    tx,
                )
            )
        for s in facts.singles:
            real_rows.append(
                (
                    "credentials.issue",
                    f"scale:issue:{s['k']}",
                    "issueCredential",
                    ct["Credential"],
                    cred0 + s["k"] * 100,
                    s["tx"],
                )
            )
        for b in facts.batches:
            real_rows.append(
                (
                    "credentials.anchor_batch",
                    f"scale:batch:{b['b']}",
                    "anchorBatch",
                    ct["CredentialBatch"],
                    batch0 + b["b"],
                    b["tx"],
                )
            )
        with cur.copy(f"COPY blockchain_chaintransaction ({columns}) FROM STDIN") as copy:
            for j, (kind, key, function, content_type, object_id, tx) in enumerate(real_rows):
                nonce, raw = facts.raw_by_hash[tx]
                event = block_of[tx]
                at = _dt(event.block_timestamp)
                copy.write_row(
                    (
                        tx0 + j,
                        kind,
                        key,
                        chain_id,
                        "CredentialVault",
                        vault,
                        function,
                        "[]",
                        raw[:4],
                        0,
                        content_type,
                        object_id,
                        "confirmed",
                        signer,
                        "",
                        nonce,
                        300_000,
                        50 * 10**9,
                        10**9,
                        raw,
                        tx,
                        1,
                        "",
                        "",
                        150_000,
                        10**9,
                        event.block_number,
                        event.block_hash,
                        at,
                        at,
                        at,
                        at,
                        at,
                        at,
                    )
                )
        tx1 = tx0 + len(real_rows)
        # History rows on their own lane: create (2,000), record (100,000), finalize (750), mint (575).
        history_rows = f"""
            SELECT 'campaigns.create_campaign' AS kind, 'scale:create:' || n AS key,
                'CampaignFactory' AS contract,
                '{addresses["CampaignFactory"]}' AS address, 'createCampaign' AS function,
                    {ct["Campaign"]} AS ct,
                {camp0} + n AS object_id, {_sha("scale-create-tx", "n")} AS tx,
                    'campaign:' || ({camp0} + n) AS ordering
            FROM generate_series(0, {COMPANIES - 1}) n
            UNION ALL
            SELECT 'campaigns.record_investment', 'scale:record:' || i, 'Campaign',
                (SELECT a.address FROM scale_clones a WHERE a.n = i / {PER_CAMPAIGN}),
                'recordInvestment', {ct["Investment"]}, {inv0} + i, {_sha("scale-record-tx", "i")},
                'campaign:' || ({camp0} + i / {PER_CAMPAIGN})
            FROM generate_series(0, {COMPANIES * PER_CAMPAIGN - 1}) i
            UNION ALL
            SELECT 'campaigns.finalize', 'scale:finalize:' || n, 'Campaign',
                (SELECT a.address FROM scale_clones a WHERE a.n = n.n), 'finalize',
                {ct["Campaign"]}, {camp0} + n, {_sha("scale-finalize-tx", "n")}, 'campaign:' || ({camp0} + n)
            FROM generate_series({ACTIVE}, {COMPANIES - 1}) n
            UNION ALL
            SELECT 'credentials.anchor_batch', 'scale:batch:' || b, 'CredentialVault', '{vault}',
                'anchorBatch',
                {ct["CredentialBatch"]}, {batch0} + b, {_sha("scale-batch-tx", "b")}, ''
            FROM generate_series({CHAIN_BATCHES}, {BATCHES - 1}) b
            UNION ALL
            SELECT 'campaigns.mint_certificates', 'scale:mint:' || n, 'ShareCertificate',
                '{addresses["ShareCertificate"]}', 'mintBatch', {ct["Campaign"]}, {camp0} + n,
                {_sha("scale-mint-tx", "n")}, 'campaign:' || ({camp0} + n)
            FROM generate_series({ACTIVE}, {ACTIVE + SUCCESSFUL - 1}) n
        """  # noqa: S608 # nosec B608
        cur.execute(
            f"""
            INSERT INTO blockchain_chaintransaction ({columns})
            SELECT {tx1} + r - 1, kind, key, {chain_id}, contract, address, function, '[]',
                '\\x00'::bytea, 0, ct, object_id, 'confirmed', '{lane}', ordering, r - 1,
                300000, 50000000000, 1000000000, '\\x00'::bytea, tx, 1, '', '', 120000, 1000000000,
                b.number, b.hash, b.ts, b.ts, b.ts, b.ts, b.ts, b.ts
            FROM (SELECT h.*, row_number() OVER () AS r FROM ({history_rows}) h) h
            JOIN scale_blocks b ON b.number = {history[0][0]} + h.r % {len(history)}
            """  # noqa: S608 # nosec B608
        )
        step("outbox rows")

        # -- chain events: the real vault logs and the database-only history (COPY) ---------------
        event_rows = _event_rows(facts, addresses, camp0=camp0, chain_id=chain_id)
        columns = (
            "chain_id, contract_address, artifact, event_name, args, block_number, block_hash, tx_hash,"
            " log_index, block_timestamp, removed, created_at"
        )
        events = 0
        with cur.copy(f"COPY blockchain_chainevent ({columns}) FROM STDIN") as copy:
            for row in event_rows:
                copy.write_row((*row, False, now))
                events += 1
        step("chain events (COPY)")

        # -- the indexer has seen all of it ------------------------------------------------------
        cur.execute(
            "UPDATE blockchain_watchedcontract SET next_block = %s WHERE chain_id = %s",
            [facts.head + 1, chain_id],
        )
        cur.execute(
            "INSERT INTO blockchain_chainsyncstate (chain_id, head, indexed_block, range_size, last_run_at,"
            " last_error, reorgs_detected) VALUES (%s, %s, %s, 1000, now(), '', 0)"
            " ON CONFLICT (chain_id) DO UPDATE SET head = EXCLUDED.head,"
            " indexed_block = EXCLUDED.indexed_block",
            [chain_id, facts.head, facts.head],
        )
        for table in (
            "accounts_user",
            "credentials_institution",
            "credentials_credentialbatch",
            "credentials_credential",
            "issuers_company",
            "campaigns_campaign",
            "campaigns_investment",
            "campaigns_sharecertificate",
            "blockchain_chaintransaction",
        ):
            sequence = (
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
            )
            cur.execute(sequence)  # nosec B608
        step("cursors + sequences")
        for statement in recreate:
            cur.execute(statement)
        step("indexes and unique constraints built again")
        violations = _foreign_key_violations(cur)
        if violations:
            raise RuntimeError(f"seeded rows break foreign keys: {violations}")
        step("foreign keys checked")
    with connection.cursor() as c:
        c.execute(
            "ANALYZE accounts_user, credentials_institution, credentials_credentialbatch,"
            " credentials_credential,"
            " issuers_company, campaigns_campaign, campaigns_investment, campaigns_sharecertificate,"
            " blockchain_chaintransaction, blockchain_chainevent"
        )
    step("analyze")
    seconds.pop("start", None)
    seconds["total"] = round(time.perf_counter() - began, 2)
    counts = {
        "credentials": CREDENTIALS,
        "investments": COMPANIES * PER_CAMPAIGN,
        "chain_events": events,
        "outbox_rows": len(real_rows)
        + (BATCHES - CHAIN_BATCHES)
        + COMPANIES
        + COMPANIES * PER_CAMPAIGN
        + (COMPANIES - ACTIVE)
        + SUCCESSFUL,
        "campaigns": COMPANIES,
        "certificates": certificates,
        "users": INVESTORS + COMPANIES,
    }
    return SeedInfo(base_id=cred0, singles=facts.singles, seconds=seconds, counts=counts)


BULK_TABLES = (
    "credentials_credential",
    "campaigns_investment",
    "blockchain_chainevent",
    "blockchain_chaintransaction",
)


def _drop_secondary_indexes(cur, tables: tuple[str, ...]) -> list[str]:
    """Drop every index but the primary key of `tables` (a unique constraint with its index);
    return the statements that build them again as they were."""
    cur.execute(
        """
        SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
            c.conname
        FROM pg_index i
        LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype = 'u'
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
        ORDER BY 1, 2
        """,
        [list(tables)],
    )
    recreate = []
    for table, index, definition, constraint in cur.fetchall():
        if constraint:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            recreate += [
                definition,
                f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" UNIQUE USING INDEX {index}',
            ]
        else:
            cur.execute(f"DROP INDEX {index}")
            recreate.append(definition)
    return recreate


# (child table, column, parent table): the foreign keys of the seeded rows, checked in bulk.
FOREIGN_KEYS = (
    ("credentials_credential", "institution_id", "credentials_institution"),
    ("credentials_credential", "batch_id", "credentials_credentialbatch"),
    ("credentials_credentialbatch", "institution_id", "credentials_institution"),
    ("issuers_company", "owner_id", "accounts_user"),
    ("campaigns_campaign", "issuer_id", "issuers_company"),
    ("campaigns_investment", "campaign_id", "campaigns_campaign"),
    ("campaigns_investment", "investor_id", "accounts_user"),
    ("campaigns_sharecertificate", "investment_id", "campaigns_investment"),
    ("campaigns_sharecertificate", "campaign_id", "campaigns_campaign"),
    ("blockchain_chaintransaction", "content_type_id", "django_content_type"),
)


def _foreign_key_violations(cur) -> dict[str, int]:
    found = {}
    for child, column, parent in FOREIGN_KEYS:
        cur.execute(
            f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL "  # noqa: S608 # nosec B608
            f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
        )
        if count := cur.fetchone()[0]:
            found[f"{child}.{column}"] = count
    return found


def facts_index(facts: ChainFacts, address: str) -> int:
    for i, (a, _n, _t) in enumerate(facts.institutions):
        if a == address:
            return i
    raise KeyError(address)


def _share_id() -> str:
    while True:
        value = secrets.token_urlsafe(16)
        if not value.isdigit():
            return value


def _dt(ts: int | None) -> datetime:
    return datetime.fromtimestamp(ts or time.time(), tz=UTC)


def _event_rows(facts: ChainFacts, addresses: dict[str, str], *, camp0: int, chain_id: int):
    """(chain_id, address, artifact, name, args JSON, block, block hash, tx, log index, time) rows: the
    real vault logs, then the history's events spread over the history blocks."""
    for e in facts.events:
        yield (
            e.chain_id,
            e.address,
            e.artifact,
            e.name,
            json.dumps(e.args),
            e.block_number,
            e.block_hash,
            e.tx_hash,
            e.log_index,
            _dt(e.block_timestamp),
        )
    history = facts.history
    log_in_block: dict[int, int] = {}

    def place(seq: int, logs: int = 1) -> tuple[int, str, datetime, int]:
        """Transaction `seq`'s block (round the history blocks) and its first log index there."""
        number, block_hash, ts = history[seq % len(history)]
        index = log_in_block.get(number, 0)
        log_in_block[number] = index + logs
        return number, block_hash, _dt(ts), index

    factory, certificate, vault = (
        addresses["CampaignFactory"],
        addresses["ShareCertificate"],
        addresses["CredentialVault"],
    )
    seq = 0

    real_batches = {b["b"] for b in facts.batches}
    institutions = [a for a, _n, _t in facts.institutions]
    for b in range(BATCHES):
        if b in real_batches:
            continue
        number, block_hash, at, index = place(seq)
        seq += 1
        args = {
            "root": sha("scale-root", b),
            "institution": institutions[b % INSTITUTIONS],
            "batchId": b + 1,
            "count": BATCH_SIZE,
        }
        yield (
            chain_id,
            vault,
            "CredentialVault",
            "BatchAnchored",
            json.dumps(args),
            number,
            block_hash,
            sha("scale-batch-tx", b),
            index,
            at,
        )
    usd = 10**6  # the campaigns' token has 6 decimals in these rows' args
    for n in range(COMPANIES):
        number, block_hash, at, index = place(seq)
        seq += 1
        issuer = _wallet(1_000_000 + n)  # checksummed below
        args = {
            "campaignRef": sha("scale-campaign-ref", n),
            "campaignAddress": clone(n),
            "issuer": to_checksum_address(issuer),
            "goal": 4000 * usd,
            "hardCap": 10000 * usd,
            "deadline": int(at.timestamp()) + 60 * 86400,
        }
        yield (
            chain_id,
            factory,
            "CampaignFactory",
            "CampaignCreated",
            json.dumps(args),
            number,
            block_hash,
            sha("scale-create-tx", n),
            index,
            at,
        )
    for i in range(COMPANIES * PER_CAMPAIGN):
        n = i // PER_CAMPAIGN
        number, block_hash, at, index = place(seq)
        seq += 1
        amount = 100 if n < ACTIVE + SUCCESSFUL else 50
        args = {
            "investmentRef": sha("scale-investment-ref", i),
            "investor": _checksummed_wallet(i % INVESTORS),
            "amount": amount * usd,
            "raised": amount * usd * (i % PER_CAMPAIGN + 1),
        }
        yield (
            chain_id,
            clone(n),
            "Campaign",
            "InvestmentRecorded",
            json.dumps(args),
            number,
            block_hash,
            sha("scale-record-tx", i),
            index,
            at,
        )
    for n in range(ACTIVE, COMPANIES):
        number, block_hash, at, index = place(seq)
        seq += 1
        successful = n < ACTIVE + SUCCESSFUL
        args = {"successful": successful, "raised": (5000 if successful else 2500) * usd}
        yield (
            chain_id,
            clone(n),
            "Campaign",
            "CampaignFinalized",
            json.dumps(args),
            number,
            block_hash,
            sha("scale-finalize-tx", n),
            index,
            at,
        )
    first_successful = ACTIVE * PER_CAMPAIGN
    for n in range(ACTIVE, ACTIVE + SUCCESSFUL):  # one mintBatch per successful campaign
        number, block_hash, at, index = place(seq, 3 * PER_CAMPAIGN)
        seq += 1
        tx = sha("scale-mint-tx", n)
        for j in range((n - ACTIVE) * PER_CAMPAIGN, (n - ACTIVE + 1) * PER_CAMPAIGN):
            yield from _mint_events(
                j, n, first_successful, certificate, tx, number, block_hash, at, index, chain_id
            )
            index += 3


def _mint_events(j, n, first_successful, certificate, tx, number, block_hash, at, index, chain_id):
    i = first_successful + j
    token_id = CERT_ID_OFFSET + j + 1
    owner = _checksummed_wallet(i % INVESTORS)
    zero = "0x0000000000000000000000000000000000000000"
    for offset, (name, args) in enumerate(
        (
            ("Transfer", {"from": zero, "to": owner, "tokenId": token_id}),
            ("MetadataUpdate", {"_tokenId": token_id}),
            (
                "CertificateMinted",
                {
                    "tokenId": token_id,
                    "certificateRef": sha("scale-cert-ref", j),
                    "campaign": clone(n),
                    "owner": owner,
                    "shares": 100,
                    "uri": "",
                },
            ),
        )
    ):
        yield (
            chain_id,
            certificate,
            "ShareCertificate",
            name,
            json.dumps(args),
            number,
            block_hash,
            tx,
            index + offset,
            at,
        )
