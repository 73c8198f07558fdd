"""The demo world `seed_demo` builds, so that every role's journey can start at once:

- Demo KYC Provider (a KYC-provider institution, registered on chain) with its staff member;
- an investor with a bound wallet and a valid KYC credential from that provider;
- an issuer whose Demo Solar GmbH is KYB-approved and registered on chain, with an active campaign,
  and whose Demo Wind AG waits for compliance's KYB review;
- Demo University with diplomas, three of them anchored in one Merkle batch;
- loan DEMO-LOAN-0001 anchored on chain (repay and verify it), DEMO-LOAN-0002 waiting for approval.

Everything goes through the services, as the API would: wallets are bound and the company wallets
proven by real EIP-4361 signatures of deterministic demo keys (keccak of a label: no key material in
the repository, and the same wallets on every machine), and chain facts come only from the chain.
No worker runs while `make run` seeds, so the outbox is drained here, between the steps that need
the previous one confirmed (a credential needs its institution on chain, a campaign its registered
company). Each step looks first at what exists, so a second run adds nothing and sends nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from accounts import services as account_services
from accounts.models import User
from accounts.wallet_proof import WalletProof
from blockchain.chain.client import TRANSIENT_ERRORS, get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction, ContractDeployment, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.nonces import reconcile_nonce_account
from blockchain.outbox.sender import broadcast, fill_nonce_gaps, send_queued
from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignStatus
from contracts.deployment import SUITE_NAMES
from core import clock
from core.api import DomainError
from credentials import services as credential_services
from credentials.fingerprints import fingerprint_of
from credentials.models import Credential, CredentialStatus, Institution, SyncStatus
from issuers import services as issuer_services
from issuers.models import Company, KybStatus, RegistrationStatus
from loans import services as loan_services
from loans.models import Loan, LoanStatus

KEY_SCHEME = "ledgerbridge.demo.v1"
LOGINS_FILE = "demo-logins.txt"
# A real CIDv0 (of the bytes "hello world\n"): the demo KYB documents point at nothing private.
DEMO_DOCUMENT_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
DRAIN_SECONDS = 60.0


def demo_account(label: str) -> LocalAccount:
    """The demo wallet named `label`: its key is keccak256 of a fixed text, the same everywhere."""
    return Account.from_key(keccak(text=f"{KEY_SCHEME}:{label}"))


def personal_sign(account: LocalAccount, message: str) -> str:
    """An EIP-191 personal_sign signature of `message` (0x-hex), as a wallet returns it."""
    return "0x" + account.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")


# --- logins -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    role: str  # a user role, or "admin" (a superuser)
    username: str
    purpose: str

    @property
    def user_role(self) -> str:
        return "operator" if self.role == "admin" else self.role


# What each login is for, and what `seed_demo` set up for it: the world moves on as people use it
# (a campaign closes, a loan is repaid), so these say "seeded", never what is true now.
LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("investor", "demo_investor", "invest; seeded with a bound wallet and a valid KYC credential"),
    DemoLogin(
        "issuer",
        "demo_issuer",
        "run campaigns; seeded: Demo Solar GmbH with an active campaign, Demo Wind AG with KYB pending",
    ),
    DemoLogin("compliance", "demo_compliance", "review KYB, campaigns and held investments; the admin"),
    DemoLogin(
        "operator",
        "demo_operator",
        "loans (mark repaid, verify; seeded: DEMO-LOAN-0001 anchored, DEMO-LOAN-0002 to approve); outbox",
    ),
    DemoLogin("institution", "demo_institution", "staff of Demo KYC Provider: issue/revoke kyc, kyb"),
    DemoLogin(
        "institution", "demo_university", "staff of Demo University: diplomas (seeded: one Merkle batch)"
    ),
    DemoLogin("admin", "demo_admin", "Django superuser: the whole admin"),
)


def logins_path() -> Path:
    return Path(settings.VAR_DIR) / LOGINS_FILE


def read_logins(path: Path) -> dict[str, str]:
    """username → password from the logins file (missing or unreadable: none)."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    passwords: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split(maxsplit=3)
        if len(fields) >= 3 and not line.startswith("#"):
            passwords[fields[1]] = fields[2]
    return passwords


def render_logins(rows: list[tuple[DemoLogin, str]]) -> str:
    lines = [
        "# LedgerBridge demo logins (development only), made once by `manage.py seed_demo` and kept.",
        "# role        username          password          what the login is for",
    ]
    lines += [
        f"{login.role:<13} {login.username:<17} {password:<17} {login.purpose}" for login, password in rows
    ]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600), atomically; unchanged text is not
    rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        os.chmod(path, 0o600)
        return
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# --- the report ---------------------------------------------------------------------------------------


@dataclass
class WorldReport:
    logins: list[tuple[DemoLogin, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # what this run added (empty on a second run)
    missing: list[str] = field(default_factory=list)  # what could not be made, and why

    @property
    def complete(self) -> bool:
        return not self.missing


class Step:
    """Runs one step of the world; a refusal is noted in the report instead of stopping the rest."""

    def __init__(self, report: WorldReport) -> None:
        self.report = report

    def __call__(self, what: str, action: Callable[[], object]) -> object | None:
        try:
            return action()
        except DomainError as exc:
            self.report.missing.append(f"{what}: {exc.message}")
            return None


# --- the outbox ---------------------------------------------------------------------------------------


def contracts_deployed() -> bool:
    active = ContractDeployment.objects.active(settings.CHAIN_ID).filter(name__in=SUITE_NAMES)
    return active.values("name").distinct().count() == len(SUITE_NAMES)


def in_flight() -> int:
    return ChainTransaction.objects.filter(status__in=IN_FLIGHT_STATUSES, chain_id=settings.CHAIN_ID).count()


def drain_outbox(*, seconds: float = DRAIN_SECONDS) -> bool:
    """Send and confirm the queued outbox rows in this process, as the worker and beat would, until
    none is in flight. False when the chain did not settle them within `seconds` (they stay queued
    for the worker)."""
    deadline = time.monotonic() + seconds
    w3 = get_web3()
    try:
        # As a worker does at start: the allocator agrees with the chain (deploy_contracts may have
        # used the signer directly).
        reconciliation = reconcile_nonce_account(
            w3=w3, chain_id=settings.CHAIN_ID, address=get_signer().address
        )
        if reconciliation.gaps:
            fill_nonce_gaps(reconciliation.gaps, w3=w3)
        while True:
            # Bytes signed but never broadcast (a seed_demo stopped mid-way): safe to send again.
            stranded = ChainTransaction.objects.filter(status=TxStatus.SIGNED, chain_id=settings.CHAIN_ID)
            if stranded.exists():
                broadcast(list(stranded.order_by("nonce")), w3=w3)
            send_queued()
            confirm_pending(w3=w3)
            if not in_flight():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.25)
    except TRANSIENT_ERRORS:
        return False


# --- the world ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionSpec:
    label: str
    name: str
    kyc_provider: bool
    staff: str  # username of its demo member

    @property
    def address(self) -> str:
        return demo_account(f"institution:{self.label}").address


KYC_PROVIDER = InstitutionSpec("kyc-provider", "Demo KYC Provider", True, "demo_institution")
UNIVERSITY = InstitutionSpec("university", "Demo University", False, "demo_university")


@dataclass(frozen=True)
class CompanySpec:
    label: str
    legal_name: str
    registration_number: str
    country: str
    approve: bool


SOLAR = CompanySpec("solar", "Demo Solar GmbH", "DEMO-0001", "DE", approve=True)
WIND = CompanySpec("wind", "Demo Wind AG", "DEMO-0002", "CH", approve=False)

CAMPAIGN_TITLE = "Demo Solar Series A"
CAMPAIGN_RUN = timedelta(days=30)
LOANS = (("DEMO-LOAN-0001", True), ("DEMO-LOAN-0002", False))


class DemoWorld:
    """Builds the world step by step (see the module docstring); `report` says what happened."""

    def __init__(self, *, drain_seconds: float = DRAIN_SECONDS) -> None:
        self.report = WorldReport()
        self.step = Step(self.report)
        self.drain_seconds = drain_seconds
        self.users: dict[str, User] = {}

    # -- users -------------------------------------------------------------------------------------

    def ensure_logins(self, path: Path) -> None:
        """One user per demo login, with the password the logins file holds (made once)."""
        known = read_logins(path)
        for login in LOGINS:
            password = known.get(login.username) or account_services.generate_password()
            user = User.objects.filter(username=login.username).first()
            if user is None:
                user = account_services.create_user(
                    username=login.username,
                    role=login.user_role,
                    email=f"{login.username}@demo.invalid",
                    password=password,
                    validate=False,
                )
                self.report.created.append(f"user {login.username}")
            elif not user.check_password(password):
                # The file is what the demo hands out: it wins over a password changed since.
                user.set_password(password)
                user.save(update_fields=["password"])
                self.report.created.append(f"password of {login.username} (back to the logins file's)")
            if login.role == "admin" and not (user.is_superuser and user.is_staff):
                user.is_superuser = user.is_staff = True
                user.save(update_fields=["is_superuser", "is_staff"])
            self.users[login.username] = user
            self.report.logins.append((login, password))
        write_private(path, render_logins(self.report.logins))

    # -- institutions ------------------------------------------------------------------------------

    def ensure_institution(self, spec: InstitutionSpec) -> Institution | None:
        institution = Institution.objects.filter(address=spec.address).first()
        if institution is None or institution.sync_status == SyncStatus.FAILED:
            institution = self.step(
                spec.name,
                lambda: credential_services.upsert_institution(
                    address=spec.address,
                    name=spec.name,
                    metadata_uri=f"https://{spec.label}.demo.invalid/",
                    kyc_provider=spec.kyc_provider,
                ),
            )
            if institution is not None:
                self.report.created.append(f"institution {spec.name}")
        if institution is not None:
            self.step(
                f"{spec.staff} as member of {spec.name}",
                lambda: credential_services.add_institution_member(
                    institution=institution, user=self.users[spec.staff]
                ),
            )
        return institution

    # -- the investor's wallet -----------------------------------------------------------------------

    def ensure_investor_wallet(self) -> str | None:
        investor = self.users["demo_investor"]
        wallet = demo_account("investor-wallet")
        if investor.wallet_verified and investor.wallet_address:
            return investor.wallet_address  # bound (to this wallet, or to one the demo user chose)
        challenge = account_services.issue_wallet_challenge(user=investor, address=wallet.address)
        bound = self.step(
            "demo_investor's wallet",
            lambda: account_services.bind_wallet(
                user=investor, message=challenge.message, signature=personal_sign(wallet, challenge.message)
            ),
        )
        if bound is None:
            return None
        self.report.created.append(f"wallet {wallet.address} bound to demo_investor")
        return wallet.address

    # -- companies ---------------------------------------------------------------------------------

    def ensure_company(self, spec: CompanySpec) -> Company | None:
        company = Company.objects.filter(
            country=spec.country, registration_number=spec.registration_number
        ).first()
        if company is not None:
            return company
        owner = self.users["demo_issuer"]
        wallet = demo_account(f"company-wallet:{spec.label}")
        challenge = account_services.issue_wallet_challenge(user=owner, address=wallet.address)
        company = self.step(
            spec.legal_name,
            lambda: issuer_services.create_company(
                owner=owner,
                legal_name=spec.legal_name,
                registration_number=spec.registration_number,
                country=spec.country,
                wallet_address=wallet.address,
                document_cid=DEMO_DOCUMENT_CID,
                wallet_proof=WalletProof(challenge.message, personal_sign(wallet, challenge.message)),
            ),
        )
        if company is not None:
            self.report.created.append(f"company {spec.legal_name}")
        return company

    def ensure_company_registered(self, company: Company) -> None:
        officer = self.users["demo_compliance"]
        if company.kyb_status == KybStatus.PENDING:
            if self.step(
                f"KYB approval of {company.legal_name}",
                lambda: issuer_services.review_company(company=company, officer=officer, decision="approve"),
            ):
                self.report.created.append(f"KYB approval of {company.legal_name}")
        elif company.registration_status == RegistrationStatus.FAILED:
            self.step(
                f"registration of {company.legal_name}",
                lambda: issuer_services.request_registration(company=company),
            )

    # -- credentials -------------------------------------------------------------------------------

    def _holds(self, *, institution: Institution, wallet: str, credential_type: str) -> bool:
        """Whether `wallet` has a usable (or still anchoring) credential of the type from `institution`."""
        return (
            Credential.objects.filter(
                institution=institution,
                subject_wallet=wallet,
                credential_type=credential_type,
                status__in=[CredentialStatus.PENDING, CredentialStatus.ISSUED],
                revocation_requested_at__isnull=True,
            )
            .exclude(expires_at__lte=timezone.now())
            .exists()
        )

    def ensure_attestation(
        self, *, provider: Institution, wallet: str, credential_type: str, holder: str
    ) -> None:
        """A kyc (investor) or kyb (company wallet) credential from the KYC provider, valid a year."""
        if self._holds(institution=provider, wallet=wallet, credential_type=credential_type):
            return
        today = timezone.now().date()
        document = {
            "credential": credential_type,
            "holder": holder,
            "wallet": wallet,
            "checked_on": today.isoformat(),
            "checks": ["identity", "address", "sanctions"] if credential_type == "kyc" else ["registry"],
            "issuer": provider.name,
            "demo": True,
        }
        if self.step(
            f"{credential_type} credential of {holder}",
            lambda: credential_services.issue_credential(
                actor=self.users[KYC_PROVIDER.staff],
                institution=provider,
                subject_wallet=wallet,
                credential_type=credential_type,
                document=document,
                expires_at=timezone.now() + timedelta(days=365),
            ),
        ):
            self.report.created.append(f"{credential_type} credential of {holder}")

    def ensure_diplomas(self, *, university: Institution, investor_wallet: str | None) -> None:
        staff = self.users[UNIVERSITY.staff]

        def diploma(graduate: str, degree: str) -> dict:
            return {
                "credential": "diploma",
                "institution": UNIVERSITY.name,
                "graduate": graduate,
                "degree": degree,
                "awarded_on": "2025-07-04",
                "demo": True,
            }

        if investor_wallet is not None:
            single = diploma("Demo Investor", "MSc Sustainable Finance")
            if not Credential.objects.filter(fingerprint=fingerprint_of(single)).exists() and self.step(
                "Demo Investor's diploma",
                lambda: credential_services.issue_credential(
                    actor=staff,
                    institution=university,
                    subject_wallet=investor_wallet,
                    credential_type="diploma",
                    document=single,
                ),
            ):
                self.report.created.append("diploma of Demo Investor")
        batch = [
            {
                "subject_wallet": demo_account(f"graduate:{n}").address,
                "credential_type": "diploma",
                "document": diploma(f"Demo Graduate {n}", degree),
            }
            for n, degree in enumerate(("BSc Computer Science", "BA Economics", "LLM Financial Law"), start=1)
        ]
        fingerprints = [fingerprint_of(item["document"]) for item in batch]
        if not Credential.objects.filter(fingerprint__in=fingerprints).exists() and self.step(
            "Demo University's batch",
            lambda: credential_services.issue_batch(actor=staff, institution=university, items=batch),
        ):
            self.report.created.append(f"a Merkle batch of {len(batch)} diplomas")

    # -- campaign ----------------------------------------------------------------------------------

    def ensure_campaign(self, company: Company) -> None:
        """The company's campaign, active on chain. A company runs one campaign at a time and one
        per 12 months, so once it has any campaign (even a finished demo one) none is added."""
        issuer, officer = self.users["demo_issuer"], self.users["demo_compliance"]
        campaign = Campaign.objects.filter(issuer=company).order_by("pk").first()
        if campaign is None:
            starts = clock.now()
            campaign = self.step(
                CAMPAIGN_TITLE,
                lambda: campaign_services.create_campaign(
                    actor=issuer,
                    issuer=company,
                    title=CAMPAIGN_TITLE,
                    description="Rooftop solar for demo schools (a demo campaign: 2,000 meets its goal).",
                    goal=Decimal("2000.00"),
                    hard_cap=Decimal("50000.00"),
                    min_investment=Decimal("100.00"),
                    share_price=Decimal("10.00"),
                    starts_at=starts,
                    ends_at=starts + max(CAMPAIGN_RUN, campaign_services.min_campaign_run()),
                ),
            )
            if campaign is None:
                return
            self.report.created.append(f"campaign {CAMPAIGN_TITLE}")
        if campaign.status == CampaignStatus.DRAFT:
            campaign = self.step(
                f"submission of {campaign.title}",
                lambda: campaign_services.submit_campaign(campaign=campaign, actor=issuer),
            )
        if campaign is not None and campaign.status == CampaignStatus.PENDING_REVIEW:
            self.step(
                f"approval of {campaign.title}",
                lambda: campaign_services.review_campaign(
                    campaign=campaign, officer=officer, decision="approve"
                ),
            )

    # -- loans -------------------------------------------------------------------------------------

    def ensure_loans(self) -> None:
        operator = self.users["demo_operator"]
        for number, (loan_id, anchor) in enumerate(LOANS, start=1):
            loan = Loan.objects.filter(loan_id=loan_id).first()
            if loan is None:
                loan = self.step(
                    loan_id,
                    lambda loan_id=loan_id, number=number: loan_services.create_loan(
                        actor=operator,
                        loan_id=loan_id,
                        borrower_wallet=demo_account(f"borrower:{number}").address,
                        lender_wallet=demo_account("lender").address,
                        principal=Decimal("250000.00") * number,
                        currency="USD",
                        interest_rate_bps=675,
                        term_months=36,
                        notes="Demo loan.",
                    ),
                )
                if loan is None:
                    continue
                self.report.created.append(f"loan {loan_id}")
            if anchor and loan.status == LoanStatus.DRAFT:
                self.step(
                    f"approval of {loan_id}",
                    lambda loan=loan: loan_services.approve_loan(loan=loan, actor=operator),
                )

    # -- all of it ---------------------------------------------------------------------------------

    def drain(self, after: str) -> bool:
        if drain_outbox(seconds=self.drain_seconds):
            return True
        self.report.missing.append(
            f"the chain did not confirm {after} in {self.drain_seconds:.0f} s; the worker sends the rest "
            "(run seed_demo again once it has)"
        )
        return False

    def build(self, *, path: Path) -> WorldReport:
        self.ensure_logins(path)
        if not contracts_deployed():
            self.report.missing.append("the contracts are not deployed: run deploy_contracts, then seed_demo")
            return self.report
        # 1. What needs nothing on chain first.
        kyc = self.ensure_institution(KYC_PROVIDER)
        university = self.ensure_institution(UNIVERSITY)
        investor_wallet = self.ensure_investor_wallet()
        solar = self.ensure_company(SOLAR)
        self.ensure_company(WIND)
        self.ensure_loans()
        if not self.drain("the institutions and the loan"):
            return self.report
        # 2. Credentials, once their institutions are on chain.
        kyc = kyc and Institution.objects.get(pk=kyc.pk)
        university = university and Institution.objects.get(pk=university.pk)
        if kyc is not None and kyc.sync_status == SyncStatus.SYNCED:
            if investor_wallet is not None:
                self.ensure_attestation(
                    provider=kyc, wallet=investor_wallet, credential_type="kyc", holder="Demo Investor"
                )
            if solar is not None:
                self.ensure_attestation(
                    provider=kyc, wallet=solar.wallet_address, credential_type="kyb", holder=solar.legal_name
                )
        elif kyc is not None:
            self.report.missing.append(f"{kyc.name} is not on chain ({kyc.sync_status}): no KYC credential")
        if university is not None and university.sync_status == SyncStatus.SYNCED:
            self.ensure_diplomas(university=university, investor_wallet=investor_wallet)
        elif university is not None:
            self.report.missing.append(f"{university.name} is not on chain ({university.sync_status})")
        if not self.drain("the credentials"):
            return self.report
        if solar is None:
            return self.report
        # 3. The company's KYB approval registers it on chain (with its KYB credential's fingerprint).
        self.ensure_company_registered(Company.objects.get(pk=solar.pk))
        if not self.drain("the company's registration"):
            return self.report
        solar = Company.objects.get(pk=solar.pk)
        if not solar.registered:
            self.report.missing.append(f"{solar.legal_name} is not registered on chain: no campaign")
            return self.report
        # 4. Its campaign, deployed on chain.
        self.ensure_campaign(solar)
        self.drain("the campaign's deployment")
        return self.report


def build_demo_world(*, path: Path | None = None, drain_seconds: float = DRAIN_SECONDS) -> WorldReport:
    """Build (or complete) the demo world; the logins go to `path` (default VAR_DIR/demo-logins.txt)."""
    return DemoWorld(drain_seconds=drain_seconds).build(path=path or logins_path())
