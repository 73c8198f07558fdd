from __future__ import annotations

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
            models.UniqueConstraint(
                fields=["chain_id", "address"], name="deployment_address_unique_per_chain"
            ),
            models.CheckConstraint(
                condition=models.Q(address__regex=r"^0x[0-9a-fA-F]{40}$"), name="deployment_address_format"
            ),
        ]
        ordering = ["chain_id", "deployment_set", "name"]

    def __str__(self) -> str:
        return f"{self.name}@{self.address} (chain {self.chain_id}, set {self.deployment_set})"
