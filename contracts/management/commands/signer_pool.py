"""`manage.py signer_pool status|grant <address>|retire <address>`: the outbox's signer pool.

- status: every configured signer (settings) and every recorded lane, with its role on the suite,
  its allocator's next nonce, its in-flight intents and its balance.
- grant: OPERATOR_ROLE on every suite contract for a configured pool signer, then it takes intents.
  The grant is signed by the admin key (the primary signer) and sent directly, as `deploy_contracts`
  sends the deployment: it needs DEFAULT_ADMIN_ROLE, which the outbox's operator lanes do not hold,
  and it must land before the new lane's first intent, so it cannot queue in the outbox.
- retire: the signer gets no new intents; what is already on its lane finishes on it (replacements
  and fillers included, so its key stays configured until `status` shows its lane empty). Its role
  stays (pass --revoke-role once its lane is empty to take it away too).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.management.base import CommandError
from web3 import Web3

from blockchain.chain.client import get_web3
from blockchain.chain.signer import SignerConfigurationError, get_signer, pool_addresses
from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction, ContractDeployment, NonceAccount
from blockchain.outbox.lanes import active_lanes, lane_load
from contracts.deployment import (
    ROLE_CONTRACTS,
    DeploymentError,
    has_operator_role,
    record_signer_lane,
    set_operator_role,
)
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "The outbox's signer pool: status, grant <address> (operator role + lane), retire <address>."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["status", "grant", "retire"])
        parser.add_argument("address", nargs="?", help="the signer (grant, retire)")
        parser.add_argument(
            "--revoke-role",
            action="store_true",
            help="retire: also revoke OPERATOR_ROLE (only when nothing is in flight on its lane)",
        )

    def handle(self, *args, action: str, address: str | None, revoke_role: bool, **opts) -> None:
        chain_id = settings.CHAIN_ID
        try:
            configured = pool_addresses()
        except SignerConfigurationError as exc:
            raise CommandError(str(exc)) from None
        if action == "status":
            self._status(chain_id, configured)
            return
        if not address or not Web3.is_address(address):
            raise CommandError(f"{action} needs a signer address")
        address = Web3.to_checksum_address(address)
        if action == "grant":
            self._grant(chain_id, configured, address)
        else:
            self._retire(chain_id, address, revoke_role=revoke_role)

    def _suite(self, chain_id: int) -> dict[str, str]:
        suite = dict(ContractDeployment.objects.active(chain_id).values_list("name", "address"))
        if not suite:
            raise CommandError(f"no contracts deployed on chain {chain_id}: run deploy_contracts first")
        return suite

    def _grant(self, chain_id: int, configured: list[str], address: str) -> None:
        if address not in configured:
            raise CommandError(
                f"{address} is not a configured signer: add its keystore to SIGNER_POOL_KEYSTORES "
                "(and restart the workers) first, so the outbox can sign for its lane"
            )
        w3 = get_web3()
        try:
            changes = set_operator_role(
                w3=w3, admin=get_signer(), account=address, addresses=self._suite(chain_id)
            )
        except DeploymentError as exc:
            raise CommandError(str(exc)) from None
        for change in changes:
            what = f"tx {change.tx_hash}" if change.tx_hash else "already held"
            self.stdout.write(f"  OPERATOR_ROLE on {change.contract:<18} {what}")
        record_signer_lane(chain_id=chain_id, address=address, active=True)
        self.stdout.write(self.style.SUCCESS(f"{address} takes intents on chain {chain_id}"))

    def _retire(self, chain_id: int, address: str, *, revoke_role: bool) -> None:
        remaining = [a for a in active_lanes(chain_id) if a != address]
        if not remaining:
            raise CommandError("retiring it would leave no active signer: grant another one first")
        record_signer_lane(chain_id=chain_id, address=address, active=False)
        in_flight = ChainTransaction.objects.filter(
            chain_id=chain_id, signer=address, status__in=IN_FLIGHT_STATUSES
        ).count()
        self.stdout.write(
            self.style.SUCCESS(f"{address} retired: no new intents; {in_flight} in flight finish on it")
        )
        if revoke_role:
            if in_flight:
                raise CommandError("not revoking OPERATOR_ROLE while intents are in flight on its lane")
            try:
                set_operator_role(
                    w3=get_web3(),
                    admin=get_signer(),
                    account=address,
                    addresses=self._suite(chain_id),
                    grant=False,
                )
            except DeploymentError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"  OPERATOR_ROLE revoked from {address}")

    def _status(self, chain_id: int, configured: list[str]) -> None:
        from blockchain.models import SignerLane

        active = set(active_lanes(chain_id))
        recorded = {lane.address: lane for lane in SignerLane.objects.filter(chain_id=chain_id)}
        load = lane_load(chain_id)
        nonces = dict(NonceAccount.objects.filter(chain_id=chain_id).values_list("address", "next_nonce"))
        suite = dict(ContractDeployment.objects.active(chain_id).values_list("name", "address"))
        w3 = get_web3()
        addresses = list(dict.fromkeys([*configured, *recorded, *(a for a in load if a != "-")]))
        self.stdout.write(f"signer pool on chain {chain_id}: {len(active)} active of {len(addresses)}")
        for address in addresses:
            state = (
                "active"
                if address in active
                else "retired"
                if address in recorded and not recorded[address].active
                else "not granted"
            )
            if address not in configured:
                state += ", NO KEY CONFIGURED"
            try:
                balance = f"{Decimal(w3.eth.get_balance(address)) / Decimal(10**18):f}"
                roles = (
                    sum(
                        has_operator_role(w3, name, suite[name], address)
                        for name in ROLE_CONTRACTS
                        if name in suite
                    )
                    if suite
                    else 0
                )
                role = f"role {roles}/{len([n for n in ROLE_CONTRACTS if n in suite])}"
            except Exception as exc:
                balance, role = "?", f"role ? ({exc.__class__.__name__})"
            flights = ", ".join(f"{k} {v}" for k, v in sorted(load.get(address, {}).items())) or "idle"
            self.stdout.write(
                f"  {address}  {state:<12} next nonce {nonces.get(address, '-')!s:<6} {role}  "
                f"balance {balance}  in flight: {flights}"
            )
        if "-" in load:
            self.stdout.write(f"  (no lane yet) in flight: {load['-']}")
