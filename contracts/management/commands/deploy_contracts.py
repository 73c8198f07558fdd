from django.core.management.base import CommandError

from blockchain.chain.client import get_web3
from blockchain.chain.signer import SignerConfigurationError, get_signer, pool_addresses
from blockchain.models import ContractDeployment
from contracts.deployment import (
    SUITE_NAMES,
    DeploymentError,
    deploy_suite,
    grant_pool_signers,
    verify_deployments,
)
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = (
        "Deploy the contract suite to CHAIN_RPC_URL with the configured signer. On a chain that already "
        "has an active set this only verifies the code at each address; --redeploy makes a new set. "
        "Every signer of the pool (SIGNER_POOL_KEYSTORES / SIGNER_POOL_PRIVATE_KEYS) is then granted "
        "OPERATOR_ROLE on the suite and takes intents (a retired one stays retired)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--redeploy", action="store_true", help="deploy a new set and retire the current one"
        )
        parser.add_argument(
            "--redeploy-if-reset",
            action="store_true",
            help="deploy a new set when the recorded addresses hold no code (a dev chain was reset)",
        )

    def handle(self, *args, redeploy: bool, redeploy_if_reset: bool, **opts) -> None:
        w3 = get_web3()
        try:
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise CommandError(f"cannot reach the chain node: {exc}") from None
        try:
            signer = get_signer()
        except SignerConfigurationError as exc:
            raise CommandError(str(exc)) from None

        current = list(ContractDeployment.objects.active(chain_id))
        if current and not redeploy:
            results = verify_deployments(w3=w3, deployments=current)
            for r in results:
                mark = self.style.SUCCESS("ok") if r.ok else self.style.ERROR("FAIL")
                self.stdout.write(f"  {mark} {r.name:<18} {r.address} {r.problem}")
            missing = sorted(set(SUITE_NAMES) - {row.name for row in current})
            failed = [r for r in results if not r.ok]
            reset = (
                failed
                and all(r.problem.startswith("no code") for r in failed)
                and len(failed) == len(results)
            )
            if not failed and not missing:
                self.stdout.write(
                    self.style.SUCCESS(f"contracts already deployed on chain {chain_id}; verified")
                )
                self._grant_pool(w3, signer, chain_id, {row.name: row.address for row in current})
                return
            if not (redeploy_if_reset and reset):
                problem = (
                    f"missing contracts: {', '.join(missing)}" if missing else "code verification failed"
                )
                raise CommandError(f"{problem}; run with --redeploy to deploy a new set")
            self.stdout.write("recorded contracts have no code (the chain was reset): deploying a new set")

        self.stdout.write(f"deploying {len(SUITE_NAMES)} contracts to chain {chain_id} as {signer.address}")

        def progress(done) -> None:
            self.stdout.write(
                f"  {self.style.SUCCESS('deployed')} {done.name:<18} {done.address} "
                f"block {done.block_number} gas {done.gas_used:,} tx {done.tx_hash}"
            )

        try:
            rows = deploy_suite(w3=w3, signer=signer, progress=progress)
        except DeploymentError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"deployment set {rows[0].deployment_set} recorded on chain {chain_id}")
        )
        self._grant_pool(w3, signer, chain_id, {row.name: row.address for row in rows})

    def _grant_pool(self, w3, signer, chain_id: int, addresses: dict[str, str]) -> None:
        """OPERATOR_ROLE for every pool signer (the deployer has it from the constructors)."""
        try:
            signers = pool_addresses()
        except SignerConfigurationError as exc:
            raise CommandError(str(exc)) from None
        try:
            changes = grant_pool_signers(
                w3=w3, admin=signer, chain_id=chain_id, addresses=addresses, signers=signers
            )
        except DeploymentError as exc:
            raise CommandError(str(exc)) from None
        granted = [c for c in changes if c.tx_hash]
        for change in granted:
            self.stdout.write(
                f"  {self.style.SUCCESS('granted')} OPERATOR_ROLE on {change.contract:<18} "
                f"to {change.account} tx {change.tx_hash}"
            )
        self.stdout.write(f"signer pool: {len(signers)} signer(s), {len(granted)} role grant(s) sent")
