"""The balance cache's rows (Redis holds the hot copy: wallets/balances.py)."""

from __future__ import annotations

from django.db import models


class Balance(models.Model):
    """The cached balance of one address in one asset: the native coin, a configured ERC-20, or the
    number of share certificates held. `stale` is set by events and sent transactions that touch it."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    asset = models.CharField(max_length=32, help_text="native, an ERC-20 symbol, or certificates")
    amount = models.DecimalField(max_digits=78, decimal_places=0, help_text="base units")
    block_number = models.PositiveBigIntegerField()
    stale = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address", "asset"], name="balance_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="balance_not_negative"),
        ]
        indexes = [models.Index(fields=["stale", "updated_at"], name="balance_refresh_idx")]
        ordering = ["address", "asset"]

    def __str__(self) -> str:
        return f"{self.address} {self.asset}: {self.amount}"
