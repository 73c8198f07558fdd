"""Campaign writes: the life cycle and the issuance rules.

Every status change goes through `_move`, which checks `TRANSITIONS`: an action from a state that
does not allow it is a 409 naming the actions the current state allows. Chain work is never done
here: a change that needs it (deploying, a close) makes the campaign's post_save signal put the
intent in the outbox in the same DB transaction (campaigns/signals.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from eth_utils import keccak

from accounts.models import InvestorProfile, User
from accounts.selectors import wallet_next_step
from blockchain.chain.abi import DecodedError
from blockchain.chain.amounts import AmountError, to_base_units
from blockchain.outbox.declared import declare
from campaigns.aml import screen
from campaigns.limits import investment_limit
from campaigns.models import (
    COUNTED_STATUSES,
    IN_FLIGHT_INVESTMENT,
    IN_PROGRESS,
    ROLLING_WINDOW,
    SCREENING_REJECTION,
    AMLAlert,
    AMLRule,
    Campaign,
    CampaignStatus,
    CertificateStatus,
    Investment,
    InvestmentStatus,
    RejectionReason,
    ShareCertificate,
)
from campaigns.onchain.intents import (
    CANCEL_KIND,
    CREATE_KIND,
    FINALIZE_KIND,
    MINT_CERTIFICATES,
    RECORD_KIND,
    MintBatch,
)
from core import clock
from core.api import DomainError, NotAllowed, StateConflict
from issuers.models import Company, ReviewDecision
from issuers.services import check_decision, record_review

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

logger = logging.getLogger(__name__)

S = CampaignStatus


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str


# The life cycle of API.md, in one place.
TRANSITIONS: dict[str, Transition] = {
    "edit": Transition((S.DRAFT,), S.DRAFT),
    "submit": Transition((S.DRAFT,), S.PENDING_REVIEW),
    "approve": Transition((S.PENDING_REVIEW,), S.DEPLOYING),
    "reject": Transition((S.PENDING_REVIEW,), S.CANCELLED),
    "request_changes": Transition((S.PENDING_REVIEW,), S.DRAFT),
    "deploy": Transition((S.APPROVED,), S.DEPLOYING),
    "deployed": Transition((S.DEPLOYING, S.APPROVED), S.ACTIVE),
    "deployment_failed": Transition((S.DEPLOYING,), S.APPROVED),
    "close": Transition((S.ACTIVE,), S.ACTIVE),  # finalize() requested; the event decides
    "finalized_successful": Transition((S.ACTIVE,), S.SUCCESSFUL),
    "finalized_failed": Transition((S.ACTIVE,), S.FAILED),
    # Not while deploying: the contract may be created any moment; cancel once active or approved.
    "cancel": Transition((S.DRAFT, S.PENDING_REVIEW, S.APPROVED, S.ACTIVE), S.CANCELLED),
}
ISSUER_CANCELLABLE = (S.DRAFT, S.PENDING_REVIEW, S.APPROVED)
TERMS = ("title", "description", "goal", "hard_cap", "min_investment", "share_price", "starts_at", "ends_at")


# Who may ask for each action. The API's permission classes are built from this map
# (campaigns/views.py) and `allowed_actions` filters by it: a caller is offered what they may do.
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "edit": ("issuer",),
    "submit": ("issuer",),
    "approve": ("compliance",),
    "reject": ("compliance",),
    "request_changes": ("compliance",),
    "deploy": ("compliance", "operator"),
    "close": ("issuer", "compliance"),
    "cancel": ("issuer", "compliance"),
}
# A campaign review's decisions (POST /api/campaigns/{id}/review/), each an action above.
REVIEW_DECISIONS = (ReviewDecision.APPROVE, ReviewDecision.REJECT, ReviewDecision.REQUEST_CHANGES)


def roles_for(*actions: str) -> tuple[str, ...]:
    """The roles that may ask for any of `actions` (ACTION_ROLES), in a stable order."""
    return tuple(dict.fromkeys(role for action in actions for role in ACTION_ROLES[action]))


def actions_from(status: str) -> list[str]:
    """Every action a campaign in `status` allows, whoever asks."""
    return [name for name, t in TRANSITIONS.items() if status in t.sources and not _internal(name)]


def _internal(action: str) -> bool:
    return action in ("deployed", "deployment_failed", "finalized_successful", "finalized_failed", "edit")


def _acts_as_issuer(user: User) -> bool:
    """An issuer acts on its own companies' campaigns only; staff roles and superusers on any."""
    return user.role == "issuer" and not user.is_superuser


def may_take(action: str, *, campaign: Campaign, user: User | AnonymousUser) -> bool:
    """Whether `user` may ask for `action` on `campaign`, its state aside: the action's roles
    (ACTION_ROLES, as the API's permissions), an issuer's ownership (`_owned`), and that an issuer
    cancels only before the campaign is active (`cancel_campaign`)."""
    if not (user.is_authenticated and user.has_role(*ACTION_ROLES[action])):
        return False
    if _acts_as_issuer(user):
        return campaign.issuer.owner_id == user.pk and (
            action != "cancel" or campaign.status in ISSUER_CANCELLABLE
        )
    return True


INVEST = "invest"  # POST /api/campaigns/{id}/investments/: offered to an investor who may invest now


def allowed_actions(
    *, campaign: Campaign, user: User | AnonymousUser, now: datetime | None = None
) -> list[str]:
    """The actions `user` may take on `campaign` right now: its state allows them, `may_take`
    agrees, and the business rules the action's service checks (`rule_refusal`, the very checks the
    services run) do not refuse it; then `invest` when the caller may invest (`invest_refusal`)."""
    if not user.is_authenticated:  # `may_take` refuses them every action, and only investors invest
        return []
    now = now or clock.now()
    offered = [
        action
        for action in actions_from(campaign.status)
        if may_take(action, campaign=campaign, user=user)
        and rule_refusal(action, campaign=campaign, now=now) is None
    ]
    investor = user.is_authenticated and user.has_role("investor")
    if investor and invest_refusal(campaign=campaign, investor=user, now=now) is None:  # type: ignore[arg-type]
        offered.append(INVEST)
    return offered


def rule_refusal(action: str, *, campaign: Campaign, now: datetime) -> StateConflict | None:
    """The 409 the service of `action` would answer for `campaign`'s business rules at `now` (its
    state and the caller's role aside), or None: the checks `allowed_actions` and the services share."""
    check = _RULE_CHECKS.get(action)
    if check is None:
        return None
    try:
        check(campaign, now=now)
    except StateConflict as exc:
        return exc
    return None


def invest_refusal(*, campaign: Campaign, investor: User, now: datetime) -> StateConflict | None:
    """The 409 `invest` would answer `investor` on `campaign` at `now` for any amount it accepts
    (the minimum investment), or None: the campaign is open, the wallet bound, the KYC valid and the
    hard cap leaves room for the minimum. The same checks `invest` runs."""
    try:
        check_open_for_investment(campaign, now=now)
        check_investor_ready(investor)
        check_hard_cap(campaign, amount=campaign.min_investment)
    except StateConflict as exc:
        return exc
    return None


def _move(campaign: Campaign, action: str, *, actor: User | None = None) -> str:
    """Apply `action`'s transition in memory; returns the previous status. A refusal (409) names
    the actions `actor` may take instead (all the state allows when the platform moves it)."""
    transition = TRANSITIONS[action]
    if campaign.status not in transition.sources:
        allowed = (
            actions_from(campaign.status) if actor is None else allowed_actions(campaign=campaign, user=actor)
        )
        raise StateConflict(
            f"A {campaign.status} campaign cannot {action.replace('_', ' ')}; "
            f"allowed now: {', '.join(allowed) or 'nothing'}.",
            code="invalid_transition",
            status=campaign.status,
            allowed_actions=allowed,
        )
    previous = campaign.status
    campaign.status = transition.target
    return previous


def campaign_ref_for(campaign: Campaign) -> str:
    return "0x" + keccak(text=f"ledgerbridge.campaign.v1:{campaign.public_id}").hex()


def min_campaign_run() -> timedelta:
    """The shortest run of a campaign, which is also how long it stays open before it may close
    early: CAMPAIGN_MIN_RUN_DAYS (Regulation Crowdfunding's 21 days; only development may shorten it)."""
    return timedelta(days=settings.CAMPAIGN_MIN_RUN_DAYS)


def _days(span: timedelta) -> str:
    return f"{span.days} day{'' if span.days == 1 else 's'}"


def _check_terms(values: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    for name in ("goal", "hard_cap", "min_investment", "share_price"):
        try:
            if to_base_units(values[name]) <= 0:
                errors[name] = "Must be more than zero."
        except AmountError as exc:
            errors[name] = str(exc)
    if not errors:
        if values["goal"] > values["hard_cap"]:
            errors["goal"] = "The goal cannot be above the hard cap."
        if values["min_investment"] > values["hard_cap"]:
            errors["min_investment"] = "The minimum investment cannot be above the hard cap."
    min_run = min_campaign_run()
    if values["ends_at"] - values["starts_at"] < min_run:  # no overflow near year 9999
        errors["ends_at"] = f"A campaign runs at least {_days(min_run)}."
    if errors:
        raise DomainError(
            "Invalid campaign terms: " + "; ".join(errors.values()), code="invalid", errors=errors
        )


def create_campaign(
    *,
    actor: User,
    issuer: Company,
    title: str,
    goal: Decimal,
    hard_cap: Decimal,
    min_investment: Decimal,
    share_price: Decimal,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
) -> Campaign:
    """A draft campaign of a company the actor owns."""
    if issuer.owner_id != actor.pk and not actor.is_superuser:
        raise NotAllowed("You can only create campaigns for your own companies.")
    values = {
        "title": title,
        "description": description,
        "goal": Decimal(goal),
        "hard_cap": Decimal(hard_cap),
        "min_investment": Decimal(min_investment),
        "share_price": Decimal(share_price),
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    _check_terms(values)
    campaign = Campaign(issuer=issuer, created_by=actor, **values)
    campaign.campaign_ref = campaign_ref_for(campaign)
    campaign.save()
    return campaign


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("issuer").get(pk=campaign.pk)


def _owned(campaign: Campaign, actor: User) -> None:
    if campaign.issuer.owner_id != actor.pk and not actor.is_superuser:
        raise NotAllowed("Only the issuing company's owner may do this.")


def update_campaign(*, campaign: Campaign, actor: User, **changes: Any) -> Campaign:
    """Change a draft's terms (409 once submitted)."""
    with transaction.atomic():
        locked = _locked(campaign)
        _owned(locked, actor)
        _move(locked, "edit", actor=actor)
        for name, value in changes.items():
            if name in TERMS:
                setattr(locked, name, value)
        _check_terms({name: getattr(locked, name) for name in TERMS})
        locked.save()
    return locked


def check_submit_rules(campaign: Campaign, *, now: datetime) -> None:
    """The issuance rules a submit checks (409 naming the first one broken): the company is
    registered on chain; the campaign has not ended; no other campaign of the company is in
    progress; none ran within 12 months of this one's start; the company's goals within 12 months
    stay within ISSUER_ANNUAL_CAP. `submit_campaign` and `allowed_actions` both ask here."""
    company = campaign.issuer
    if not company.registered:
        raise StateConflict(
            "The company is not registered on chain yet (KYB approval registers it).",
            code="issuer_not_registered",
            registration_status=company.registration_status,
        )
    if campaign.ends_at <= now:
        raise StateConflict("The campaign's end date has passed; change it first.", code="campaign_ended")
    others = Campaign.objects.filter(issuer=company).exclude(pk=campaign.pk)
    in_progress = others.filter(status__in=IN_PROGRESS).first()
    if in_progress is not None:
        raise StateConflict(
            f"The company already has a campaign in progress ({in_progress.title!r}, {in_progress.status}).",
            code="campaign_in_progress",
        )
    window = Q(
        starts_at__gt=campaign.starts_at - ROLLING_WINDOW, starts_at__lt=campaign.starts_at + ROLLING_WINDOW
    )
    ran = Q(status__in=[S.SUCCESSFUL, S.FAILED]) | Q(status=S.CANCELLED, activated_at__isnull=False)
    recent = others.filter(window & ran).order_by("-starts_at").first()
    if recent is not None:
        raise StateConflict(
            f"The company ran a campaign within 12 months of this one's start ({recent.title!r}, "
            f"starting {recent.starts_at:%Y-%m-%d}).",
            code="campaign_within_12_months",
        )
    counted = others.filter(window & (ran | Q(status__in=IN_PROGRESS)))
    total = (counted.aggregate(total=Sum("goal"))["total"] or Decimal(0)) + campaign.goal
    cap = Decimal(settings.ISSUER_ANNUAL_CAP)
    if total > cap:
        raise StateConflict(
            f"The company's campaign goals within 12 months would total {total:f}, above the {cap:f} cap.",
            code="annual_cap_exceeded",
            cap=str(cap),
        )


def check_not_ended(campaign: Campaign, *, now: datetime) -> None:
    """Approving or deploying needs a campaign whose end date has not passed (409 campaign_ended)."""
    if campaign.ends_at <= now:
        raise StateConflict("The campaign's end date has passed.", code="campaign_ended")


def check_close_rules(campaign: Campaign, *, now: datetime, automatic: bool = False) -> None:
    """The rules of a close (409 naming the first one broken): not already closing; before
    `ends_at` (unless the platform closes it at its end) only after the minimum run open
    (`min_campaign_run`) and with the goal met. `close_campaign` and `allowed_actions` both ask here."""
    if campaign.close_requested_at:
        raise StateConflict("The campaign is already closing.", code="already_closing")
    if now < campaign.ends_at and not automatic:
        opened = max(filter(None, [campaign.activated_at, campaign.starts_at]))
        floor = min_campaign_run()
        if now < opened + floor:
            raise StateConflict(
                f"A campaign can close early only after {_days(floor)} open "
                f"(from {opened + floor:%Y-%m-%d %H:%M} UTC).",
                code="too_early_to_close",
            )
        if campaign.raised < campaign.goal:
            raise StateConflict(
                "A campaign can close early only when its goal is met "
                f"({campaign.raised:f} of {campaign.goal:f}).",
                code="goal_not_met",
            )


# The business rules of each campaign action beyond its state, role and ownership.
_RULE_CHECKS = {
    "submit": check_submit_rules,
    "approve": check_not_ended,
    "deploy": check_not_ended,
    "close": check_close_rules,
}


def submit_campaign(*, campaign: Campaign, actor: User) -> Campaign:
    """Draft → pending_review, under the issuance rules:
    - the company is registered on chain;
    - no other campaign of the company is in progress (also a partial unique index);
    - no other campaign of the company ran within 12 months of this one's start;
    - the goals of the company's campaigns within 12 months stay within ISSUER_ANNUAL_CAP.
    Submits for one company are serialised on the company row.
    """
    with transaction.atomic():
        Company.objects.select_for_update().filter(pk=campaign.issuer_id).get()
        locked = _locked(campaign)
        _owned(locked, actor)
        previous = _move(locked, "submit", actor=actor)
        now = clock.now()
        check_submit_rules(locked, now=now)
        locked.submitted_at = now
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise StateConflict(
                "The company already has a campaign in progress.", code="campaign_in_progress"
            ) from None
    logger.info("campaign %s submitted (%s → %s)", locked.pk, previous, locked.status)
    return locked


def review_campaign(*, campaign: Campaign, officer: User, decision: str, notes: str = "") -> Campaign:
    """Compliance decides on a pending campaign: approve (deploys its contract), reject (cancels it)
    or request changes (back to draft). Reject and request_changes need notes."""
    check_decision(decision=decision, allowed=REVIEW_DECISIONS, notes=notes)
    with transaction.atomic():
        locked = _locked(campaign)
        previous = _move(locked, decision, actor=officer)
        now = clock.now()
        if decision == ReviewDecision.APPROVE:
            check_not_ended(locked, now=now)
            locked.approved_at = now
            locked.deploy_attempt += 1
            locked.last_chain_error = ""
            declare(locked, CREATE_KIND)
        elif decision == ReviewDecision.REJECT:
            locked.cancelled_at = now
            locked.cancellation_reason = notes.strip()
        locked.save()  # post_save enqueues the declared createCampaign
        record_review(
            subject=locked,
            officer=officer,
            decision=decision,
            notes=notes,
            from_status=previous,
            to_status=S.APPROVED if decision == ReviewDecision.APPROVE else locked.status,
        )
    return locked


def request_deployment(*, campaign: Campaign, actor: User | None = None) -> Campaign:
    """Approved (its deployment failed) → deploying again: a new createCampaign intent."""
    with transaction.atomic():
        locked = _locked(campaign)
        _move(locked, "deploy", actor=actor)
        check_not_ended(locked, now=clock.now())
        locked.deploy_attempt += 1
        locked.last_chain_error = ""
        declare(locked, CREATE_KIND)
        locked.save()
    return locked


def close_campaign(*, campaign: Campaign, actor: User | None, automatic: bool = False) -> Campaign:
    """Ask the chain to finalize an active campaign. Before `ends_at` only after the minimum run
    (`min_campaign_run`) open and with the goal met; the CampaignFinalized event makes it successful
    or failed. Idempotent while a close is in flight."""
    with transaction.atomic():
        locked = _locked(campaign)
        if actor is not None and actor.has_role("issuer") and not actor.is_superuser:
            _owned(locked, actor)
        if locked.status == S.ACTIVE and locked.close_requested_at:
            return locked
        _move(locked, "close", actor=actor)
        now = clock.now()
        check_close_rules(locked, now=now, automatic=automatic)
        locked.close_requested_at = now
        locked.finalize_attempt += 1
        locked.last_chain_error = ""
        declare(locked, FINALIZE_KIND)
        locked.save()  # post_save enqueues the declared finalize()
    return locked


def cancel_campaign(*, campaign: Campaign, actor: User, reason: str = "") -> Campaign:
    """Cancel before success or failure. Issuers may cancel until the campaign is active; compliance
    also while active, which finalizes the contract so nothing more is recorded on it."""
    with transaction.atomic():
        locked = _locked(campaign)
        is_officer = actor.has_role("compliance")
        if not is_officer:
            _owned(locked, actor)
            if locked.status not in ISSUER_CANCELLABLE and locked.status in TRANSITIONS["cancel"].sources:
                raise StateConflict(
                    "Only compliance can cancel an active campaign.",
                    code="invalid_transition",
                    status=locked.status,
                    allowed_actions=allowed_actions(campaign=locked, user=actor),
                )
        previous = _move(locked, "cancel", actor=actor)
        now = clock.now()
        locked.cancelled_at = now
        locked.cancellation_reason = reason.strip()
        if previous == S.ACTIVE and not locked.close_requested_at:
            locked.close_requested_at = now
            locked.finalize_attempt += 1
            declare(locked, FINALIZE_KIND)
        locked.save()
        if is_officer:
            record_review(
                subject=locked,
                officer=actor,
                decision=ReviewDecision.REJECT,
                notes=reason or "cancelled",
                from_status=previous,
                to_status=locked.status,
            )
    return locked


def close_ended_campaigns(*, now: datetime | None = None) -> int:
    """Beat: request finalize() for every active campaign past its end. Returns how many."""
    now = now or clock.now()
    due = Campaign.objects.filter(status=S.ACTIVE, ends_at__lte=now, close_requested_at__isnull=True)
    closed = 0
    for campaign in due.iterator():
        try:
            close_campaign(campaign=campaign, actor=None, automatic=True)
            closed += 1
        except DomainError as exc:  # changed meanwhile
            logger.info("not closing campaign %s: %s", campaign.pk, exc.message)
    return closed


# --- failed intents (the outbox's failure hooks call these) -----------------------------------------


def deployment_failed(*, campaign_id: int, error_code: str) -> None:
    """createCampaign failed for good: back to approved with the error. The campaign keeps its
    in-progress slot, so nothing it holds is released."""
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None or campaign.status != S.DEPLOYING:
        return
    _move(campaign, "deployment_failed")
    campaign.last_chain_error = f"createCampaign failed: {error_code}"[:300]
    campaign.save()


def finalize_failed(*, campaign_id: int, error_code: str) -> None:
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None or campaign.finalized_tx_hash:
        return
    if campaign.status == S.ACTIVE:
        campaign.close_requested_at = None  # may be requested again
    campaign.last_chain_error = f"finalize failed: {error_code}"[:300]
    campaign.save()


# --- investments ------------------------------------------------------------------------------------


def investment_ref_for(investment: Investment) -> str:
    return "0x" + keccak(text=f"ledgerbridge.investment.v1:{investment.public_id}").hex()


def profile_of(user: User) -> InvestorProfile:
    return InvestorProfile.objects.get_or_create(user=user)[0]


def invested_12m(user: User, *, now: datetime | None = None) -> Decimal:
    """What counts against the investor's limit: every investment of the last 12 months that is
    not cancelled, rejected, refunded or failed."""
    since = (now or clock.now()) - ROLLING_WINDOW
    total = Investment.objects.filter(
        investor=user, status__in=COUNTED_STATUSES, created_at__gt=since
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


def limit_12m(user: User, *, profile: InvestorProfile | None = None) -> Decimal | None:
    from credentials.selectors import is_accredited

    profile = profile or profile_of(user)
    return investment_limit(
        annual_income=profile.annual_income, net_worth=profile.net_worth, accredited=is_accredited(user)
    )


def update_profile(*, user: User, **changes: Any) -> InvestorProfile:
    """The investor's own figures (income, net worth, country); accreditation is not among them."""
    with transaction.atomic():
        profile = InvestorProfile.objects.select_for_update().get_or_create(user=user)[0]
        for name in ("annual_income", "net_worth", "country"):
            if name in changes:
                setattr(profile, name, changes[name])
        profile.save()
    return profile


def refresh_campaign_totals(campaign_id: int) -> None:
    """`pending_amount` (in flight) and `investor_count` (confirmed) from the investments."""
    rows = Investment.objects.filter(campaign_id=campaign_id)
    pending = rows.filter(status__in=IN_FLIGHT_INVESTMENT).aggregate(total=Sum("amount"))["total"] or 0
    investors = rows.filter(status=InvestmentStatus.CONFIRMED).values("investor").distinct().count()
    Campaign.objects.filter(pk=campaign_id).update(pending_amount=pending, investor_count=investors)


def check_investor_ready(investor: User) -> None:
    """An investor needs a bound wallet (409 wallet_not_bound, with the `next_step` that binds one)
    and a valid KYC credential (credentials.selectors.require_valid_kyc: 409 kyc_*)."""
    from credentials.selectors import require_valid_kyc

    if not (investor.wallet_verified and investor.wallet_address):
        raise StateConflict(
            "Bind a wallet before investing.", code="wallet_not_bound", next_step=wallet_next_step(investor)
        )
    require_valid_kyc(investor)


def check_open_for_investment(campaign: Campaign, *, now: datetime) -> None:
    """A campaign takes investments while active, not closing, from `starts_at` until `ends_at`;
    before `starts_at` the 409 says when it opens (`opens_at`)."""
    if campaign.status == S.ACTIVE and not campaign.close_requested_at and now < campaign.starts_at:
        opens_at = campaign.starts_at
        raise StateConflict(
            f"The campaign is not open for investments yet; it opens at {opens_at:%Y-%m-%d %H:%M} UTC.",
            code="campaign_not_open",
            status=campaign.status,
            opens_at=opens_at.isoformat().replace("+00:00", "Z"),
        )
    if campaign.status != S.ACTIVE or campaign.close_requested_at or not (now < campaign.ends_at):
        raise StateConflict(
            "The campaign is not open for investments.", code="campaign_not_open", status=campaign.status
        )


def check_hard_cap(campaign: Campaign, *, amount: Decimal) -> None:
    """The campaign's confirmed and in-flight total plus `amount` stays within its hard cap (409
    hard_cap_exceeded, with what is `available`)."""
    committed = Investment.objects.filter(campaign=campaign, status__in=COUNTED_STATUSES).aggregate(
        total=Sum("amount")
    )["total"] or Decimal(0)
    if committed + amount > campaign.hard_cap:
        available = max(campaign.hard_cap - committed, Decimal(0))
        raise StateConflict(
            f"The campaign has {available:f} left under its hard cap.",
            code="hard_cap_exceeded",
            available=str(available),
        )


def invest(*, campaign: Campaign, investor: User, amount: Decimal) -> Investment:
    """Commit `amount` to an active campaign.

    Refused (409) unless: the campaign is open; the investor's wallet is bound and their KYC valid;
    the campaign's confirmed and in-flight total plus this amount stays within the hard cap (the
    campaign row is locked, so concurrent requests cannot overshoot it); the investor's 12-month
    total stays within their limit (their profile row is locked). Then AML screening: a sanctioned
    wallet is rejected (the investor sees only the generic `SCREENING_REJECTION`; the finding stays
    in the alert and the staff-only notes), any other alert holds the investment for review, and a
    clear one goes to the outbox (recordInvestment) in the same transaction.
    """
    amount = Decimal(amount)
    check_investor_ready(investor)
    try:
        to_base_units(amount)
    except AmountError as exc:
        raise DomainError(str(exc), code="invalid", errors={"amount": str(exc)}) from None
    with transaction.atomic():
        locked = _locked(campaign)
        now = clock.now()
        check_open_for_investment(locked, now=now)
        if amount < locked.min_investment:
            raise DomainError(
                f"The minimum investment is {locked.min_investment:f}.",
                code="below_minimum",
                errors={"amount": f"at least {locked.min_investment:f}"},
            )
        if amount < locked.share_price:
            raise DomainError(
                f"The amount buys no share (one share costs {locked.share_price:f}).",
                code="below_one_share",
                errors={"amount": f"at least {locked.share_price:f}"},
            )
        check_hard_cap(locked, amount=amount)
        profile = InvestorProfile.objects.select_for_update().get_or_create(user=investor)[0]
        limit = limit_12m(investor, profile=profile)
        already = invested_12m(investor, now=now)
        if limit is not None and already + amount > limit:
            raise StateConflict(
                f"This would take your 12-month total to {already + amount:f}, "
                f"above your limit of {limit:f}.",
                code="investment_limit_exceeded",
                limit_12m=str(limit),
                invested_12m=str(already),
            )
        investment = Investment(
            campaign=locked, investor=investor, investor_wallet=investor.wallet_address, amount=amount
        )
        investment.investment_ref = investment_ref_for(investment)
        investment.save()
        hits = screen(investment, country=profile.country)
        AMLAlert.objects.bulk_create(
            [AMLAlert(investment=investment, rule=h.rule, score=h.score, details=h.details) for h in hits]
        )
        if any(h.rule == AMLRule.SANCTIONED_WALLET for h in hits):
            investment.status = InvestmentStatus.REJECTED
            investment.rejection_reason = SCREENING_REJECTION
            investment.rejection_notes = "Automatic rejection: the wallet is on the sanctions list."
        elif hits:
            investment.status = InvestmentStatus.HELD_FOR_REVIEW
        else:
            investment.status = InvestmentStatus.RECORDING
            investment.record_attempt = 1
            declare(investment, RECORD_KIND)
        investment.save()  # post_save enqueues the declared recordInvestment
        refresh_campaign_totals(locked.pk)
    return investment


def check_rejection_reason(*, decision: str, reason: object) -> None:
    """A rejection takes `reason` from the customer-facing list (`RejectionReason`); a release takes
    none. Refusals are 400 `invalid` naming the valid reasons (message, `valid_reasons`, `errors`);
    the input is not echoed. The API's serializer and `review_investment` both ask here."""
    valid = list(RejectionReason.values)
    if decision == ReviewDecision.REJECT and not (isinstance(reason, str) and reason in valid):
        opening = (
            "A rejection needs a customer-facing reason"
            if not reason
            else "A rejection's reason must come from the customer-facing list"
        )
        raise DomainError(
            f"{opening}: one of {', '.join(valid)}.",
            code="invalid",
            valid_reasons=valid,
            errors={"reason": [f"Use one of: {', '.join(valid)}."]},
        )
    if decision == ReviewDecision.RELEASE and reason:
        raise DomainError(
            "Only a rejection takes a reason.", code="invalid", errors={"reason": ["Only with reject."]}
        )


def review_investment(
    *, investment: Investment, officer: User, decision: str, notes: str = "", reason: str = ""
) -> Investment:
    """Compliance releases a held investment (recordInvestment goes on chain) or rejects it.

    A rejection needs `reason`, one of `RejectionReason` (what the investor is told), and `notes`
    (the officer's words: kept in the review record and `rejection_notes`, both staff-only)."""
    check_decision(
        decision=decision,
        allowed=(ReviewDecision.RELEASE, ReviewDecision.REJECT),
        notes=notes,
    )
    check_rejection_reason(decision=decision, reason=reason)
    with transaction.atomic():
        locked = Investment.objects.select_for_update().select_related("campaign").get(pk=investment.pk)
        if locked.status != InvestmentStatus.HELD_FOR_REVIEW:
            raise StateConflict(
                f"The investment is {locked.status}; only a held one can be reviewed.",
                code="invalid_transition",
            )
        previous = locked.status
        if decision == ReviewDecision.RELEASE:
            campaign = _locked(locked.campaign)
            if campaign.status != S.ACTIVE or campaign.close_requested_at or clock.now() >= campaign.ends_at:
                raise StateConflict(
                    "The campaign is no longer open; reject the investment.", code="campaign_not_open"
                )
            locked.status = InvestmentStatus.RECORDING
            locked.record_attempt += 1
            declare(locked, RECORD_KIND)
        else:
            locked.status = InvestmentStatus.REJECTED
            locked.rejection_reason = reason
            locked.rejection_notes = notes.strip()
        locked.save()
        record_review(
            subject=locked,
            officer=officer,
            decision=decision,
            notes=notes,
            from_status=previous,
            to_status=locked.status,
        )
        refresh_campaign_totals(locked.campaign_id)
    return locked


def cancel_investment(*, investment: Investment, investor: User) -> Investment:
    """The investor withdraws, until INVESTMENT_CANCEL_CUTOFF_HOURS before the campaign ends. A held
    investment is simply cancelled; a confirmed one is cancelled on chain (cancelInvestment)."""
    with transaction.atomic():
        locked = Investment.objects.select_for_update().select_related("campaign").get(pk=investment.pk)
        if locked.investor_id != investor.pk:
            raise NotAllowed("Only the investor may cancel an investment.")
        cutoff = locked.campaign.ends_at - timedelta(hours=settings.INVESTMENT_CANCEL_CUTOFF_HOURS)
        if clock.now() >= cutoff:
            raise StateConflict(
                f"Investments can be cancelled until {cutoff:%Y-%m-%d %H:%M} UTC.", code="cancellation_closed"
            )
        if locked.status == InvestmentStatus.CONFIRMED and locked.cancel_requested_at:
            return locked
        if locked.status == InvestmentStatus.HELD_FOR_REVIEW:
            locked.status = InvestmentStatus.CANCELLED
            locked.cancelled_at = clock.now()
        elif locked.status == InvestmentStatus.CONFIRMED:
            if locked.campaign.status != S.ACTIVE or locked.campaign.close_requested_at:
                raise StateConflict(
                    "The campaign is closing; the investment stands.", code="campaign_not_open"
                )
            locked.cancel_requested_at = clock.now()
            locked.cancel_attempt += 1
            declare(locked, CANCEL_KIND)
        else:
            raise StateConflict(
                f"A {locked.status} investment cannot be cancelled"
                + (
                    " while it is being recorded; try again shortly."
                    if locked.status == InvestmentStatus.RECORDING
                    else "."
                ),
                code="invalid_transition",
                status=locked.status,
            )
        locked.save()  # post_save enqueues the declared cancelInvestment for a confirmed one
        refresh_campaign_totals(locked.campaign_id)
    return locked


def recording_failed(*, investment_id: int, error_code: str) -> None:
    """recordInvestment failed for good (e.g. the deadline passed): the investment failed and stops
    counting against the cap and the investor's limit."""
    updated = Investment.objects.filter(pk=investment_id, status=InvestmentStatus.RECORDING).update(
        status=InvestmentStatus.FAILED, last_chain_error=f"recordInvestment failed: {error_code}"[:300]
    )
    if updated:
        refresh_campaign_totals(Investment.objects.get(pk=investment_id).campaign_id)


def cancellation_failed(*, investment_id: int, error_code: str) -> None:
    Investment.objects.filter(pk=investment_id, status=InvestmentStatus.CONFIRMED).update(
        cancel_requested_at=None, last_chain_error=f"cancelInvestment failed: {error_code}"[:300]
    )


# --- share certificates -------------------------------------------------------------------------------


def certificates_per_transaction() -> int:
    """How many certificates one mintBatch may carry: 80 % of a block, at the measured gas each."""
    return max(1, int(settings.CHAIN_BLOCK_GAS_LIMIT * 0.8) // settings.CERTIFICATE_MINT_GAS)


def shares_for(investment: Investment, campaign: Campaign) -> int:
    return int(investment.amount // campaign.share_price)


def issue_certificates(campaign: Campaign) -> int:
    """A successful campaign: one certificate per confirmed investment without one, minted in as
    few mintBatch transactions as the block gas limit allows. Returns certificates queued."""
    locked = _locked(campaign)
    pending = list(
        Investment.objects.filter(
            campaign=locked, status=InvestmentStatus.CONFIRMED, certificate__isnull=True
        )
        .select_related("investor")
        .order_by("id")
    )
    size = certificates_per_transaction()
    queued = 0
    for start in range(0, len(pending), size):
        locked.certificate_batches += 1
        chunk = [
            ShareCertificate(
                investment=investment,
                campaign=locked,
                certificate_ref="0x"
                + keccak(text=f"ledgerbridge.certificate.v1:{investment.public_id}").hex(),
                shares=shares_for(investment, locked),
                mint_batch=locked.certificate_batches,
            )
            for investment in pending[start : start + size]
        ]
        ShareCertificate.objects.bulk_create(chunk)
        MINT_CERTIFICATES.enqueue(MintBatch(locked, chunk, locked.certificate_batches))
        queued += len(chunk)
    Campaign.objects.filter(pk=locked.pk).update(certificate_batches=locked.certificate_batches)
    return queued


def _declare_mint_batches(*, campaign: Campaign, certificates: list[ShareCertificate]) -> None:
    """Declare new mintBatch intents for `certificates` of the locked `campaign`, in as few
    transactions as the block gas limit allows, each under the campaign's next batch number."""
    size = certificates_per_transaction()
    for start in range(0, len(certificates), size):
        campaign.certificate_batches += 1
        chunk = certificates[start : start + size]
        ShareCertificate.objects.filter(pk__in=[c.pk for c in chunk]).update(
            status=CertificateStatus.MINTING, mint_batch=campaign.certificate_batches, last_chain_error=""
        )
        MINT_CERTIFICATES.enqueue(MintBatch(campaign, chunk, campaign.certificate_batches))
    Campaign.objects.filter(pk=campaign.pk).update(certificate_batches=campaign.certificate_batches)


def _named_values(value: Any) -> set[str]:
    """Every string inside a decoded error's arguments, lower-cased (addresses compare by value)."""
    if isinstance(value, dict):
        return set().union(*(_named_values(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(_named_values(v) for v in value))
    return {value.lower()} if isinstance(value, str) else set()


def minting_failed(
    *, campaign_id: int, batch_number: int, error_code: str, error: dict | None = None
) -> None:
    """A mintBatch failed for good (its failure hook calls this, in the outbox's DB transaction).

    When the decoded error names receivers of the batch (ERC721InvalidReceiver(receiver), or any
    argument equal to a holder's wallet), only their certificates fail, with that error, and the
    rest of the batch is declared again as a new mintBatch intent: one receiver cannot keep the
    others without a certificate. Otherwise every certificate of the batch fails, as before. An
    isolated certificate is never re-batched here (retry_certificates is the operator's call), so
    each split removes at least one certificate and the splitting ends.
    """
    error = error if isinstance(error, dict) else {}
    decoded = DecodedError(str(error.get("name") or error_code), dict(error.get("args") or {}))
    reason = f"mintBatch failed: {decoded}"[:300]
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            return
        certificates = list(
            ShareCertificate.objects.select_for_update(of=("self",))
            .filter(campaign=campaign, mint_batch=batch_number, status=CertificateStatus.MINTING)
            .select_related("investment")
            .order_by("id")
        )
        named = _named_values(decoded.args)
        isolated = [c for c in certificates if c.investment.investor_wallet.lower() in named]
        failing = isolated or certificates
        ShareCertificate.objects.filter(pk__in=[c.pk for c in failing]).update(
            status=CertificateStatus.FAILED, last_chain_error=reason
        )
        others = [c for c in certificates if c not in failing]
        if others:
            _declare_mint_batches(campaign=campaign, certificates=others)
            logger.warning(
                "mintBatch %s of campaign %s failed naming %d of its receivers (%s): their certificates "
                "failed, the other %d are declared again",
                batch_number,
                campaign_id,
                len({c.investment.investor_wallet for c in isolated}),
                decoded,
                len(others),
            )


def retry_certificates(*, campaign: Campaign) -> int:
    """Queue the failed certificates of a successful campaign again (new mintBatch intents)."""
    with transaction.atomic():
        locked = _locked(campaign)
        failed = list(
            ShareCertificate.objects.filter(campaign=locked, status=CertificateStatus.FAILED)
            .select_related("investment")
            .order_by("id")
        )
        _declare_mint_batches(campaign=locked, certificates=failed)
    return len(failed)
