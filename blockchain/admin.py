from django.contrib import admin
from django.utils.html import format_html

from blockchain.client import explorer_tx_url
from blockchain.models import ContractDeployment


@admin.register(ContractDeployment)
class ContractDeploymentAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "chain_id", "deployment_set", "active", "block_number", "tx_link")
    list_filter = ("chain_id", "active", "name")
    search_fields = ("name", "address", "tx_hash")
    readonly_fields = [f.name for f in ContractDeployment._meta.fields] + ["tx_link"]

    @admin.display(description="transaction")
    def tx_link(self, obj: ContractDeployment) -> str:
        url = explorer_tx_url(obj.tx_hash)
        return format_html('<a href="{}">{}</a>', url, obj.tx_hash) if url else obj.tx_hash

    def has_add_permission(self, request) -> bool:
        return False  # rows come from `manage.py deploy_contracts` only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
