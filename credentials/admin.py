from django.contrib import admin

from blockchain.admin import ReadOnlyAdmin, address_link, tx_link
from credentials import services
from credentials.models import Credential, CredentialBatch, CredentialLink, Institution
from credentials.selectors import eligible_members
from issuers.admin_actions import compliance_decision


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    """Operators create and change institutions here; saving queues upsertInstitution."""

    list_display = (
        "name",
        "address",
        "kyc_provider",
        "active",
        "sync_status",
        "last_chain_error",
        "updated_at",
    )
    list_filter = ("kyc_provider", "active", "sync_status")
    search_fields = ("name", "address")
    fields = (
        "address",
        "name",
        "metadata_uri",
        "kyc_provider",
        "active",
        "members",
        "sync_status",
        "synced_tx",
        "last_chain_error",
    )
    readonly_fields = ("sync_status", "synced_tx", "last_chain_error")
    filter_horizontal = ("members",)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "address") if obj else self.readonly_fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            # Only accounts that may be members are offered (never an investor).
            kwargs["queryset"] = eligible_members()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Institution, form, change: bool) -> None:
        saved = services.upsert_institution(
            address=obj.address,
            name=obj.name,
            metadata_uri=obj.metadata_uri,
            kyc_provider=obj.kyc_provider,
            active=obj.active,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.display(description="last upsert tx")
    def synced_tx(self, obj: Institution) -> str:
        return tx_link(obj.synced_tx_hash) if obj.synced_tx_hash else "—"


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "credential_type",
        "institution",
        "subject",
        "status",
        "onchain_id",
        "issued_tx",
        "expires_at",
        "created_at",
    )
    list_filter = ("status", "credential_type", "institution")
    search_fields = ("fingerprint", "subject_wallet", "issued_tx_hash", "=onchain_id")
    date_hierarchy = "created_at"
    actions = [
        compliance_decision(
            name="revoke",
            verb="Revoke",
            decide=lambda credential, officer, notes: services.revoke_credential(
                actor=None, credential=credential, reason=notes
            ),
            notes_required=True,
            permission="operator",  # the API's revoke is the institution's or an operator's
        )
    ]

    @admin.display(description="subject")
    def subject(self, obj: Credential) -> str:
        return address_link(obj.subject_wallet)

    @admin.display(description="anchoring tx")
    def issued_tx(self, obj: Credential) -> str:
        return tx_link(obj.issued_tx_hash) if obj.issued_tx_hash else "—"


@admin.register(CredentialBatch)
class CredentialBatchAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "institution", "count", "merkle_root", "status", "anchored_tx", "created_at")
    list_filter = ("status", "institution")
    search_fields = ("merkle_root", "anchored_tx_hash")

    @admin.display(description="anchoring tx")
    def anchored_tx(self, obj: CredentialBatch) -> str:
        return tx_link(obj.anchored_tx_hash) if obj.anchored_tx_hash else "—"


@admin.register(CredentialLink)
class CredentialLinkAdmin(ReadOnlyAdmin):
    list_display = ("purpose", "credential", "user", "company", "created_at")
    list_filter = ("purpose",)
