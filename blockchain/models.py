from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models


class ContractDeploymentQuerySet(models.QuerySet):
    def active(self, chain_id: int) -> ContractDeploymentQuerySet:
        return self.filter(chain_id=chain_id, active=True)


class ContractDeployment(models.Model):
    """Where one of our contracts lives on one chain. The indexer starts at `block_number`.

    `deployment_set` groups the contracts deployed together; `--redeploy` makes a new set and
    retires (active=False) the previous one, so history is kept.
    """

    name = models.CharField(max_length=64)
    address = models.CharField(max_length=42)
    chain_id = models.PositiveBigIntegerField()
    block_number = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    artifact_hash = models.CharField(max_length=66, help_text="keccak256 of the creation bytecode deployed")
    deployment_set = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    deployed_at = models.DateTimeField(auto_now_add=True)

    objects = ContractDeploymentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "name"],
                condition=models.Q(active=True),
                name="one_active_deployment_per_name",
            ),
            # Partial: a dev chain that was reset hands out the same addresses again.
            models.UniqueConstraint(
                fields=["chain_id", "address"],
                condition=models.Q(active=True),
                name="active_deployment_address_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(address__regex=r"^0x[0-9a-fA-F]{40}$"), name="deployment_address_format"
            ),
        ]
        ordering = ["chain_id", "deployment_set", "name"]

    def __str__(self) -> str:
        return f"{self.name}@{self.address} (chain {self.chain_id}, set {self.deployment_set})"


class WatchedContract(models.Model):
    """An address whose logs we decode, with the artifact that describes it.

    Our deployments are watched from their deployment block; contracts they create (every Campaign
    clone the factory makes) are added when the creating event is seen, from its block.
    """

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    artifact = models.CharField(max_length=64, help_text="ABI used to decode this address's logs")
    start_block = models.PositiveBigIntegerField()
    deployment = models.ForeignKey(ContractDeployment, null=True, blank=True, on_delete=models.CASCADE)
    discovered_by_tx = models.CharField(max_length=66, blank=True, default="")
    active = models.BooleanField(default=True)
    next_block = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="indexer cursor: the first block not indexed yet (unset: start_block)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "address"],
                condition=models.Q(active=True),
                name="active_watched_address_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(address__regex=r"^0x[0-9a-fA-F]{40}$"), name="watched_address_format"
            ),
        ]
        ordering = ["chain_id", "start_block", "id"]

    def __str__(self) -> str:
        return f"{self.artifact}@{self.address} from block {self.start_block}"


class NonceAccount(models.Model):
    """The nonce allocator of one signer on one chain: the only place nonces come from.

    Rows are locked FOR UPDATE while a batch of transactions is signed, so two workers never sign
    the same nonce; `next_nonce` is reconciled with the chain at start-up and on "nonce too low".
    """

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    next_nonce = models.PositiveBigIntegerField(default=0)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="nonce_account_unique_per_chain"),
        ]

    def __str__(self) -> str:
        return f"{self.address} on chain {self.chain_id}: next nonce {self.next_nonce}"


class SignerLane(models.Model):
    """One signer of the pool on one chain, as operators left it: `active` lanes get new intents;
    a retired one (active=False) gets none, while the intents already on it finish.

    The keys themselves come from settings (SIGNER_KEYSTORE / SIGNER_PRIVATE_KEY, the primary, and
    SIGNER_POOL_KEYSTORES / SIGNER_POOL_PRIVATE_KEYS); a pool key takes intents once a row here says
    it holds the operator role (`deploy_contracts` or `signer_pool grant`). The primary signer, which
    deploys and holds the operator role from the start, is active unless a row retires it.
    """

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    active = models.BooleanField(default=True)
    granted_at = models.DateTimeField(null=True, blank=True, help_text="when OPERATOR_ROLE was granted")
    retired_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="signer_lane_unique_per_chain"),
            models.CheckConstraint(
                condition=models.Q(address__regex=r"^0x[0-9a-fA-F]{40}$"), name="signer_lane_address_format"
            ),
        ]
        ordering = ["chain_id", "address"]

    def __str__(self) -> str:
        return f"{self.address} on chain {self.chain_id} ({'active' if self.active else 'retired'})"


class TxStatus(models.TextChoices):
    QUEUED = "queued"
    SIGNED = "signed"
    SENT = "sent"
    MINED = "mined"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    REPLACED = "replaced"


# A transaction in these states holds a nonce and stored signed bytes.
NONCE_HOLDING_STATUSES = (TxStatus.SIGNED, TxStatus.SENT, TxStatus.MINED, TxStatus.CONFIRMED)
IN_FLIGHT_STATUSES = (TxStatus.QUEUED, TxStatus.SIGNED, TxStatus.SENT, TxStatus.MINED)


class ChainTransaction(models.Model):
    """The outbox: one row per domain intent that needs a chain write.

    Created by `blockchain.outbox.enqueue.enqueue` in the same DB transaction as the domain change, so an
    intent exists exactly when the change committed. The sender signs it at a nonce from the
    signer's `NonceAccount` and stores the raw bytes before broadcasting; the confirmer follows every
    hash ever broadcast for it (`attempts`) until one is mined and confirmed.
    """

    kind = models.CharField(max_length=64, help_text="the domain intent, e.g. loans.store_loan")
    idempotency_key = models.CharField(max_length=200, unique=True)
    chain_id = models.PositiveBigIntegerField()
    contract_name = models.CharField(max_length=64)
    contract_address = models.CharField(max_length=42)
    function = models.CharField(max_length=64)
    args = models.JSONField(default=list, help_text="the call's arguments, JSON-friendly, for people")
    calldata = models.BinaryField()
    value = models.DecimalField(max_digits=78, decimal_places=0, default=0)

    content_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.SET_NULL
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("content_type", "object_id")

    status = models.CharField(max_length=16, choices=TxStatus.choices, default=TxStatus.QUEUED)
    signer = models.CharField(
        max_length=42,
        blank=True,
        default="",
        help_text="the signer (nonce lane) this intent goes through, chosen when it was enqueued",
    )
    ordering_key = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="intents with the same key stay on one signer's lane, in order (e.g. one campaign's)",
    )
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    gas_limit = models.PositiveBigIntegerField(null=True, blank=True)
    max_fee_per_gas = models.PositiveBigIntegerField(null=True, blank=True)
    max_priority_fee_per_gas = models.PositiveBigIntegerField(null=True, blank=True)
    raw_tx = models.BinaryField(null=True, blank=True, editable=False)
    tx_hash = models.CharField(max_length=66, blank=True, default="", db_index=True)

    attempts = models.PositiveIntegerField(default=0, help_text="broadcasts and re-broadcasts")
    error_code = models.CharField(max_length=128, blank=True, default="", help_text="decoded revert name")
    error = models.JSONField(null=True, blank=True, help_text="decoded revert arguments or RPC error")
    last_error = models.TextField(blank=True, default="", help_text="last transient error (retried)")

    gas_used = models.PositiveBigIntegerField(null=True, blank=True)
    effective_gas_price = models.PositiveBigIntegerField(null=True, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    mined_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "signer", "nonce"],
                condition=models.Q(nonce__isnull=False),
                name="one_transaction_per_signer_nonce",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=[s.value for s in NONCE_HOLDING_STATUSES])
                | (models.Q(nonce__isnull=False) & models.Q(raw_tx__isnull=False) & ~models.Q(tx_hash="")),
                name="signed_transactions_have_nonce_and_bytes",
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="transaction_value_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="outbox_status_idx"),
            models.Index(fields=["content_type", "object_id"], name="outbox_subject_idx"),
            models.Index(fields=["status", "signer", "id"], name="outbox_lane_idx"),
            models.Index(fields=["ordering_key", "status"], name="outbox_ordering_key_idx"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.contract_name}.{self.function} [{self.status}]"

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT_STATUSES


class AttemptStatus(models.TextChoices):
    PENDING = "pending"
    MINED = "mined"
    REPLACED = "replaced"
    DROPPED = "dropped"


class TxAttempt(models.Model):
    """Every signed version of an outbox row that may have reached the chain: one per hash.

    A replacement (same nonce, higher fees) adds an attempt; all are polled until one is mined, then
    the others are marked replaced.
    """

    transaction = models.ForeignKey(ChainTransaction, related_name="attempt_set", on_delete=models.CASCADE)
    tx_hash = models.CharField(max_length=66, unique=True)
    nonce = models.PositiveBigIntegerField()
    gas_limit = models.PositiveBigIntegerField()
    max_fee_per_gas = models.PositiveBigIntegerField()
    max_priority_fee_per_gas = models.PositiveBigIntegerField()
    raw_tx = models.BinaryField(editable=False)
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # The node first accepted this version (the stuck timer runs from here), and last accepted it
    # (a re-broadcast moves only this one: the re-broadcast timer runs from here).
    first_broadcast_at = models.DateTimeField(null=True, blank=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["transaction_id", "id"]

    def __str__(self) -> str:
        return f"{self.tx_hash} (nonce {self.nonce}, {self.status})"


class ChainEvent(models.Model):
    """One decoded log of one of our contracts, from a receipt or the indexer.

    The unique key makes re-ingestion a no-op; `removed` marks a log orphaned by a reorg.
    """

    chain_id = models.PositiveBigIntegerField()
    contract_address = models.CharField(max_length=42)
    artifact = models.CharField(max_length=64)
    event_name = models.CharField(max_length=64)
    args = models.JSONField()
    block_number = models.PositiveBigIntegerField()
    block_hash = models.CharField(max_length=66)
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_timestamp = models.DateTimeField(
        null=True, blank=True, help_text="when its block was mined (the header's timestamp)"
    )
    removed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index", "block_hash"], name="chain_event_unique_log"
            ),
        ]
        indexes = [
            models.Index(fields=["chain_id", "block_number"], name="chain_event_block_idx"),
            models.Index(fields=["contract_address", "event_name"], name="chain_event_contract_idx"),
        ]
        ordering = ["chain_id", "block_number", "log_index"]

    def __str__(self) -> str:
        return f"{self.event_name} @ {self.block_number}:{self.log_index}"

    def mined_at(self, *, otherwise: datetime | None) -> datetime | None:
        """The chain's time of this fact: its block's timestamp, so a rebuild or a replay reproduces
        it. `otherwise` only for a row stored before block times were kept."""
        return self.block_timestamp or otherwise


class IndexedBlock(models.Model):
    """The hash the indexer saw for a block inside the unconfirmed window (reorg detection)."""

    chain_id = models.PositiveBigIntegerField()
    number = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=66)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain_id", "number"], name="indexed_block_unique")]
        ordering = ["chain_id", "number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.hash}"


class ChainSyncState(models.Model):
    """Where the indexer is on one chain, for `/api/blockchain/sync/`, `/healthz` and metrics."""

    chain_id = models.PositiveBigIntegerField(unique=True)
    head = models.PositiveBigIntegerField(default=0)
    indexed_block = models.PositiveBigIntegerField(null=True, blank=True)
    range_size = models.PositiveIntegerField(default=0, help_text="the adaptive eth_getLogs block range")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    reorgs_detected = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"chain {self.chain_id}: indexed {self.indexed_block} of {self.head}"

    @property
    def lag_blocks(self) -> int | None:
        return None if self.indexed_block is None else max(0, self.head - self.indexed_block)


class ReorgRecord(models.Model):
    """One reorg the indexer detected and rewound."""

    chain_id = models.PositiveBigIntegerField()
    fork_block = models.PositiveBigIntegerField(help_text="the first block that changed")
    depth = models.PositiveIntegerField(help_text="blocks rewound")
    events_removed = models.PositiveIntegerField(default=0)
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return f"reorg at {self.fork_block} (depth {self.depth})"


class ReconcileReport(models.Model):
    """The result of comparing the cache with the chain (`manage.py reconcile`, beat)."""

    chain_id = models.PositiveBigIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    checked = models.PositiveIntegerField(default=0)
    drift_count = models.PositiveIntegerField(default=0)
    drift = models.JSONField(default=list, help_text="[{check, key, cache, chain}]")

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"reconcile {self.finished_at:%Y-%m-%d %H:%M}: {self.drift_count} drift of {self.checked}"

    @property
    def ok(self) -> bool:
        return self.drift_count == 0
