from django.contrib import admin

from blockchain.admin import address_link, tx_link
from campaigns import services
from campaigns.models import Campaign
from issuers.admin import ReviewedAdmin
from issuers.admin_actions import compliance_decision


def _review(decision: str):
    return lambda campaign, officer, notes: services.review_campaign(
        campaign=campaign, officer=officer, decision=decision, notes=notes
    )


@admin.register(Campaign)
class CampaignAdmin(ReviewedAdmin):
    list_display = (
        "title",
        "issuer",
        "status",
        "goal",
        "hard_cap",
        "raised",
        "starts_at",
        "ends_at",
        "contract",
        "last_chain_error",
    )
    list_filter = ("status",)
    search_fields = ("title", "issuer__legal_name", "contract_address", "campaign_ref")
    date_hierarchy = "created_at"
    extra_readonly = ("contract", "created_tx", "finalized_tx")
    actions = [
        compliance_decision(name="approve", verb="Approve", decide=_review("approve"), notes_required=False),
        compliance_decision(name="reject", verb="Reject", decide=_review("reject"), notes_required=True),
        compliance_decision(
            name="request_changes",
            verb="Request changes to",
            decide=_review("request_changes"),
            notes_required=True,
        ),
        compliance_decision(
            name="cancel",
            verb="Cancel",
            decide=lambda c, officer, notes: services.cancel_campaign(
                campaign=c, actor=officer, reason=notes
            ),
            notes_required=True,
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issuer")

    @admin.display(description="contract")
    def contract(self, obj: Campaign) -> str:
        return address_link(obj.contract_address)

    @admin.display(description="creation tx")
    def created_tx(self, obj: Campaign) -> str:
        return tx_link(obj.created_tx_hash) if obj.created_tx_hash else "—"

    @admin.display(description="finalize tx")
    def finalized_tx(self, obj: Campaign) -> str:
        return tx_link(obj.finalized_tx_hash) if obj.finalized_tx_hash else "—"
