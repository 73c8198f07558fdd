"""Gas used (from receipts) by every write function of the contract suite, and the headline:
gas per credential when anchoring a Merkle batch instead of issuing credentials one by one.

Method: a fresh suite is deployed on the bench's anvil. Each write function is called RUNS + 1
times with fresh arguments; the first call (it may pay for a counter going from zero to non-zero)
is a warm-up reported in `extra`, and the row is the median of the other RUNS calls, the steady
state of a platform that has been running for a while. Every figure is a receipt's gasUsed, so it
includes the 21,000 base cost and the calldata of the transaction.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from bench.common import BenchContext, Measurement
from blockchain.chain.bindings import BoundContract, bound
from blockchain.chain.client import build_web3
from blockchain.chain.merkle import MerkleTree, standard_leaf
from blockchain.chain.signer import get_signer
from contracts.deployment import deploy_suite_onchain

TITLE = "Gas per write function and per credential"

RUNS = 3  # measured calls per function, after one warm-up call
BATCH_SIZES = (256, 1000)
MINT_BATCH_SIZE = 10
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
ROLE_CONTRACTS = ("IssuerRegistry", "CampaignFactory", "ShareCertificate", "CredentialVault", "LoanRegistry")
LEAF_TYPES = ["bytes32", "address", "bytes32", "uint64"]
YEAR = 365 * 24 * 3600


def h(label: str) -> bytes:
    return keccak(text=label)


def address_of(label: str) -> str:
    """A fresh externally-owned-looking address (no code), one per label."""
    return to_checksum_address(keccak(text=label)[-20:])


class GasBench:
    def __init__(self, w3: Web3, suite: dict[str, str]) -> None:
        self.w3 = w3
        self.accounts = [to_checksum_address(a) for a in w3.eth.accounts]
        self.operator = get_signer().address
        self.contracts = {name: bound(name, address=address, w3=w3) for name, address in suite.items()}
        self.rows: list[Measurement] = []

    def send(self, contract: BoundContract, function: str, *args: Any, sender: str | None = None) -> dict:
        tx_hash = self.w3.eth.send_transaction(
            {
                "from": sender or self.operator,
                "to": contract.address,
                "data": contract.encode(function, *args),
            }
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise RuntimeError(f"{contract.name}.{function} reverted (tx {tx_hash.to_0x_hex()})")
        return receipt

    def gas_samples(self, call: Callable[[int], dict]) -> tuple[int, list[int]]:
        """(warm-up gas, gas of RUNS further calls); call(i) sends the i-th call and returns its receipt."""
        gas = [call(i)["gasUsed"] for i in range(RUNS + 1)]
        return gas[0], gas[1:]

    def measure(self, what: str, call: Callable[[int], dict], note: str = "") -> float:
        first, samples = self.gas_samples(call)
        median = statistics.median(samples)
        extra = {"first_call_gas": first}
        if note:
            extra["note"] = note
        self.rows.append(
            Measurement(what=what, unit="gas", ours=median, samples={"ours": samples}, extra=extra)
        )
        return median

    # ------------------------------------------------------------------ per contract

    def issuer_registry(self) -> None:
        registry = self.contracts["IssuerRegistry"]
        self.measure(
            "IssuerRegistry.registerIssuer",
            lambda i: self.send(
                registry, "registerIssuer", address_of(f"issuer{i}"), h(f"vc{i}"), f"ipfs://vc-{i}"
            ),
        )
        self.measure(
            "IssuerRegistry.revokeIssuer",
            lambda i: self.send(registry, "revokeIssuer", address_of(f"issuer{i}")),
        )

    def campaigns(self) -> None:
        registry, factory = self.contracts["IssuerRegistry"], self.contracts["CampaignFactory"]
        issuer = address_of("campaign-issuer")
        self.send(registry, "registerIssuer", issuer, h("vc"), "ipfs://vc")
        deadline = self.w3.eth.get_block("latest")["timestamp"] + YEAR
        campaigns: list[BoundContract] = []

        def create(i: int) -> dict:
            receipt = self.send(factory, "createCampaign", h(f"campaign{i}"), issuer, 10**6, 10**12, deadline)
            address = factory.call("campaignOf", h(f"campaign{i}"))
            campaigns.append(bound("Campaign", address=address, artifact="Campaign", w3=self.w3))
            return receipt

        self.measure(
            "CampaignFactory.createCampaign",
            create,
            note="includes the EIP-1167 clone and Campaign.initialize (only callable from it)",
        )
        campaign = campaigns[0]
        self.measure(
            "Campaign.recordInvestment",
            lambda i: self.send(
                campaign, "recordInvestment", address_of(f"investor{i}"), 1_000 + i, h(f"inv{i}")
            ),
            note="a new investor",
        )
        self.measure(
            "Campaign.cancelInvestment", lambda i: self.send(campaign, "cancelInvestment", h(f"inv{i}"))
        )
        self.measure("Campaign.finalize", lambda i: self.send(campaigns[i], "finalize"))

    def share_certificate(self) -> None:
        certs = self.contracts["ShareCertificate"]
        holder, spender = self.accounts[1], self.accounts[2]
        campaign = address_of("certificate-campaign")
        self.measure(
            "ShareCertificate.mint",
            lambda i: self.send(
                certs, "mint", h(f"cert{i}"), holder, campaign, 100 + i, f"ipfs://certificate-{i}"
            ),
        )
        n = MINT_BATCH_SIZE

        def mint_batch(i: int) -> dict:
            refs = [h(f"batch{i}-cert{j}") for j in range(n)]
            uris = [f"ipfs://batch-{i}-certificate-{j}" for j in range(n)]
            return self.send(certs, "mintBatch", refs, [holder] * n, campaign, [100] * n, uris)

        per_call = self.measure(f"ShareCertificate.mintBatch ({n} certificates)", mint_batch)
        self.rows[-1].extra["per_certificate_gas"] = per_call / n
        # tokens 1..RUNS+1 come from mint(); the transfers below use batch-minted ones
        token = iter(range(RUNS + 2, RUNS + 2 + (RUNS + 1) * n))
        self.measure(
            "ShareCertificate.approve", lambda i: self.send(certs, "approve", spender, i + 1, sender=holder)
        )
        self.measure(
            "ShareCertificate.setApprovalForAll",
            lambda i: self.send(certs, "setApprovalForAll", address_of(f"operator{i}"), True, sender=holder),
        )
        self.measure(
            "ShareCertificate.transferFrom",
            lambda i: self.send(
                certs, "transferFrom", holder, address_of(f"to{i}"), next(token), sender=holder
            ),
        )
        self.measure(
            "ShareCertificate.safeTransferFrom(address,address,uint256)",
            lambda i: self.send(
                certs,
                "safeTransferFrom(address,address,uint256)",
                holder,
                address_of(f"safe-to{i}"),
                next(token),
                sender=holder,
            ),
            note="to an address without code",
        )
        self.measure(
            "ShareCertificate.safeTransferFrom(address,address,uint256,bytes)",
            lambda i: self.send(
                certs,
                "safeTransferFrom(address,address,uint256,bytes)",
                holder,
                address_of(f"safe-data-to{i}"),
                next(token),
                b"\x01" * 32,
                sender=holder,
            ),
            note="to an address without code, 32 bytes of data",
        )

    def credential_vault(self) -> tuple[float, dict[int, float]]:
        """The vault's rows; returns (single issueCredential gas, {batch size: anchorBatch gas})."""
        vault = self.contracts["CredentialVault"]
        self.measure(
            "CredentialVault.upsertInstitution",
            lambda i: self.send(
                vault,
                "upsertInstitution",
                address_of(f"institution{i}"),
                f"Bank {i}",
                f"ipfs://bank-{i}",
                True,
                True,
            ),
        )
        institution = address_of("institution0")
        expires = self.w3.eth.get_block("latest")["timestamp"] + YEAR
        kyc = h("KYC")
        subject = address_of("subject")

        def issue(i: int) -> dict:
            request = (institution, subject, kyc, h(f"fingerprint{i}"), h(f"credential{i}"), expires)
            return self.send(vault, "issueCredential", request)

        single = self.measure("CredentialVault.issueCredential", issue)
        self.measure(
            "CredentialVault.revokeCredential",
            lambda i: self.send(vault, "revokeCredential", i + 1, h("reason")),
        )

        anchors: dict[int, float] = {}
        for size in BATCH_SIZES:

            def anchor(i: int, size: int = size) -> dict:
                leaves = [
                    standard_leaf(
                        LEAF_TYPES, [h(f"b{size}-{i}-fp{j}"), address_of(f"b{size}-s{j}"), kyc, expires]
                    )
                    for j in range(size)
                ]
                tree = MerkleTree.from_leaves(leaves)
                receipt = self.send(vault, "anchorBatch", tree.root, size, institution)
                # the anchored batch really verifies on chain
                sample_fp, sample_subject = h(f"b{size}-{i}-fp{size - 1}"), address_of(f"b{size}-s{size - 1}")
                valid, _revoked, _expired = vault.call(
                    "verifyBatchCredential",
                    tree.root,
                    sample_fp,
                    sample_subject,
                    kyc,
                    expires,
                    tree.proof(leaves[-1]),
                )
                if not valid:
                    raise RuntimeError(f"a proof of the {size}-leaf batch does not verify on chain")
                return receipt

            anchors[size] = self.measure(
                f"CredentialVault.anchorBatch ({size} leaves)",
                anchor,
                note="one Merkle root, whatever the count",
            )
        root = h("revocation-root")
        self.send(vault, "anchorBatch", root, 10, institution)
        self.measure(
            "CredentialVault.revokeBatchLeaf",
            lambda i: self.send(vault, "revokeBatchLeaf", root, h(f"leaf{i}"), h("why")),
        )
        return single, anchors

    def loan_registry(self) -> None:
        loans = self.contracts["LoanRegistry"]
        borrower, lender = address_of("borrower"), address_of("lender")
        self.measure(
            "LoanRegistry.storeLoan",
            lambda i: self.send(loans, "storeLoan", f"LOAN-2025-{i:06d}", h(f"loan{i}"), borrower, lender),
        )
        self.measure(
            "LoanRegistry.markRepaid",
            lambda i: self.send(loans, "markRepaid", f"LOAN-2025-{i:06d}", h(f"paid{i}")),
        )

    def roles(self) -> None:
        members = self.accounts[3 : 3 + RUNS + 1]  # unlocked, so they can renounce
        for name in ROLE_CONTRACTS:
            contract = self.contracts[name]
            self.measure(
                f"{name}.grantRole",
                lambda i, c=contract: self.send(c, "grantRole", OPERATOR_ROLE, members[i]),
            )
            self.measure(
                f"{name}.renounceRole",
                lambda i, c=contract: self.send(
                    c, "renounceRole", OPERATOR_ROLE, members[i], sender=members[i]
                ),
            )
            for member in members:
                self.send(contract, "grantRole", OPERATOR_ROLE, member)
            self.measure(
                f"{name}.revokeRole",
                lambda i, c=contract: self.send(c, "revokeRole", OPERATOR_ROLE, members[i]),
            )


def run(ctx: BenchContext) -> list[Measurement]:
    w3 = build_web3(ctx.node.url)
    deployed = deploy_suite_onchain(w3=w3, signer=get_signer())
    bench = GasBench(w3, {d.name: d.address for d in deployed})

    bench.issuer_registry()
    bench.campaigns()
    bench.share_certificate()
    single, anchors = bench.credential_vault()
    bench.loan_registry()
    bench.roles()

    headline = [
        Measurement(
            what="gas per credential, single issueCredential",
            unit="gas",
            ours=single,
            higher_is_better=False,
            extra={"method": f"median of {RUNS} issuances after a warm-up"},
        )
    ]
    for size in BATCH_SIZES:
        headline.append(
            Measurement(
                what=f"gas per credential, Merkle batch of {size} vs single issueCredential",
                unit="gas",
                ours=anchors[size] / size,
                naive=single,
                higher_is_better=False,
                target="≥ 50× less",
                target_ratio=50,
                extra={"anchorBatch_gas": anchors[size], "batch_size": size},
            )
        )
    deployments = [
        Measurement(
            what=f"{d.name} deployment",
            unit="gas",
            ours=d.gas_used,
            extra={"note": "CampaignFactory deploys the Campaign implementation"}
            if d.name == "CampaignFactory"
            else {},
        )
        for d in deployed
    ]
    return headline + bench.rows + deployments
