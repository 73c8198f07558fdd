"""An independent client, reading only the committed ABIs (contracts/build/*.json) and the chain,
can call every view of every contract and decode every event our contracts emit.

Deliberately nothing from this project is imported: json + plain web3.py only. The session
fixtures are used for the node's URL and the suite's addresses, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

pytestmark = [pytest.mark.chain]

BUILD_DIR = Path(__file__).resolve().parents[2] / "contracts" / "build"
ABIS = {path.stem: json.loads(path.read_text())["abi"] for path in sorted(BUILD_DIR.glob("*.json"))}
ROLE_CONTRACTS = ["IssuerRegistry", "CampaignFactory", "ShareCertificate", "CredentialVault", "LoanRegistry"]
ZERO = "0x0000000000000000000000000000000000000000"

# Events in our ABIs that no function of ours can emit: OpenZeppelin's RoleAdminChanged (no
# contract calls _setRoleAdmin). Everything else must appear in the scenario.
NOT_EMITTABLE = {"RoleAdminChanged"}
REQUIRED = {
    "IssuerRegistered",
    "IssuerRevoked",
    "CampaignCreated",
    "InvestmentRecorded",
    "InvestmentCancelled",
    "CampaignFinalized",
    "CertificateMinted",
    "Transfer",
    "Approval",
    "ApprovalForAll",
    "InstitutionUpserted",
    "CredentialIssued",
    "CredentialRevoked",
    "BatchAnchored",
    "BatchLeafRevoked",
    "LoanStored",
    "LoanRepaid",
    "RoleGranted",
    "RoleRevoked",
}


def event_signature(item: dict) -> str:
    def kind(param: dict) -> str:
        if param["type"].startswith("tuple"):
            return "(" + ",".join(kind(c) for c in param["components"]) + ")" + param["type"][5:]
        return param["type"]

    return f"{item['name']}({','.join(kind(i) for i in item['inputs'])})"


def events_by_topic(abi: list[dict]) -> dict[bytes, str]:
    return {
        bytes(Web3.keccak(text=event_signature(item))): item["name"]
        for item in abi
        if item["type"] == "event" and not item.get("anonymous")
    }


def leaf(w3: Web3, fingerprint: bytes, subject: str, credential_type: bytes, expires_at: int) -> bytes:
    """CredentialVault's batch leaf, as its NatSpec documents it."""
    encoded = w3.codec.encode(
        ["bytes32", "address", "bytes32", "uint64"], [fingerprint, subject, credential_type, expires_at]
    )
    return bytes(Web3.keccak(Web3.keccak(encoded)))


class Client:
    def __init__(self, url: str, addresses: dict[str, str]) -> None:
        self.w3 = Web3(Web3.HTTPProvider(url))
        self.accounts = [Web3.to_checksum_address(a) for a in self.w3.eth.accounts]
        self.operator = self.accounts[0]  # the deployer, operator and admin of the suite
        self.contracts = {
            name: self.w3.eth.contract(address=a, abi=ABIS[name]) for name, a in addresses.items()
        }
        self.receipts: list = []

    def send(self, fn, sender: str | None = None):
        tx_hash = fn.transact({"from": sender or self.operator})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        self.receipts.append(receipt)
        return receipt


@pytest.fixture
def client(chain, deployed_suite) -> Client:
    return Client(chain.url, {d.name: d.address for d in deployed_suite})


def run_scenario(client: Client) -> dict:
    """Exercise every write of the suite; return the values the views are then called with."""
    w3, acc = client.w3, client.accounts
    registry, factory = client.contracts["IssuerRegistry"], client.contracts["CampaignFactory"]
    certs, vault = client.contracts["ShareCertificate"], client.contracts["CredentialVault"]
    loans = client.contracts["LoanRegistry"]
    issuer, investor, holder, bank, subject, spender = acc[1], acc[2], acc[3], acc[4], acc[5], acc[6]
    ref = Web3.keccak(text="independent-campaign")
    now = w3.eth.get_block("latest")["timestamp"]

    client.send(registry.functions.registerIssuer(issuer, Web3.keccak(text="vc"), "ipfs://issuer"))
    client.send(registry.functions.registerIssuer(acc[7], Web3.keccak(text="vc7"), "ipfs://7"))
    client.send(registry.functions.revokeIssuer(acc[7]))

    client.send(factory.functions.createCampaign(ref, issuer, 100, 1_000, now + 3_600))
    campaign_address = factory.functions.campaignOf(ref).call()
    campaign = w3.eth.contract(address=campaign_address, abi=ABIS["Campaign"])
    inv_ref = Web3.keccak(text="investment-1")
    client.send(campaign.functions.recordInvestment(investor, 300, inv_ref))
    client.send(campaign.functions.recordInvestment(investor, 50, Web3.keccak(text="investment-2")))
    client.send(campaign.functions.cancelInvestment(Web3.keccak(text="investment-2")))
    client.send(campaign.functions.finalize())

    cert_ref = Web3.keccak(text="certificate-1")
    client.send(certs.functions.mint(cert_ref, holder, campaign_address, 300, "ipfs://cert-1"))
    client.send(
        certs.functions.mintBatch(
            [Web3.keccak(text="certificate-2"), Web3.keccak(text="certificate-3")],
            [holder, investor],
            campaign_address,
            [1, 2],
            ["ipfs://cert-2", "ipfs://cert-3"],
        )
    )
    client.send(certs.functions.setMetadataBase("https://shares.example/api/certificates/"))
    client.send(certs.functions.approve(spender, 2), sender=holder)
    client.send(certs.functions.setApprovalForAll(spender, True), sender=holder)
    client.send(certs.functions.transferFrom(holder, investor, 2), sender=spender)

    kyc = Web3.keccak(text="KYC")
    fingerprint = Web3.keccak(text="fingerprint-1")
    client.send(vault.functions.upsertInstitution(bank, "Bank", "ipfs://bank", True, True))
    client.send(
        vault.functions.issueCredential((bank, subject, kyc, fingerprint, Web3.keccak(text="cref-1"), 0))
    )
    client.send(
        vault.functions.issueCredential(
            (bank, subject, kyc, Web3.keccak(text="fingerprint-2"), Web3.keccak(text="cref-2"), 0)
        ),
        sender=bank,
    )
    client.send(vault.functions.revokeCredential(2, Web3.keccak(text="reason")), sender=bank)
    kept = leaf(w3, fingerprint, subject, kyc, 0)
    revoked = leaf(w3, Web3.keccak(text="fingerprint-3"), subject, kyc, 0)
    root = bytes(Web3.keccak(min(kept, revoked) + max(kept, revoked)))
    client.send(vault.functions.anchorBatch(root, 2, bank), sender=bank)
    client.send(vault.functions.revokeBatchLeaf(root, revoked, Web3.keccak(text="reason")))

    client.send(loans.functions.storeLoan("LN-1", Web3.keccak(text="loan"), investor, issuer))
    client.send(loans.functions.markRepaid("LN-1", Web3.keccak(text="repaid")))

    operator_role = Web3.keccak(text="OPERATOR_ROLE")
    for name in ROLE_CONTRACTS:
        contract = client.contracts[name]
        client.send(contract.functions.grantRole(operator_role, acc[8]))
        client.send(contract.functions.revokeRole(operator_role, acc[8]))

    return {
        "campaign": campaign,
        "values": {
            # by argument name: the scenario's own values, so views answer about real records
            "issuer": issuer,
            "investor": investor,
            "owner": holder,
            "operator": spender,
            "account": client.operator,
            "institution": bank,
            "subject": subject,
            "role": operator_role,
            "campaignRef": ref,
            "investmentRef": inv_ref,
            "certificateRef": cert_ref,
            "tokenId": 1,
            "id": 1,
            "fingerprint": fingerprint,
            "credentialRef": Web3.keccak(text="cref-1"),
            "credentialType": kyc,
            "expiresAt": 0,
            "root": root,
            "leaf": revoked,
            "proof": [revoked],
            "loanId": "LN-1",
            "interfaceId": bytes.fromhex("80ac58cd"),
        },
    }


def sample(param: dict, values: dict):
    """The scenario's value for an argument of this name, else a zero/sample value of its type."""
    if param["name"] in values:
        return values[param["name"]]
    kind = param["type"]
    if kind.endswith("[]"):
        return []
    if kind == "address":
        return ZERO
    if kind == "bool":
        return False
    if kind == "string":
        return "sample"
    if kind.startswith("bytes") and kind != "bytes":
        return b"\0" * int(kind[5:])
    if kind == "bytes":
        return b""
    if kind.startswith(("uint", "int")):
        return 0
    raise AssertionError(f"no sample for {kind}")


def test_every_view_answers_from_the_abi_alone(client):
    scenario = run_scenario(client)
    targets = {**client.contracts, "Campaign": scenario["campaign"]}
    answers: dict[str, object] = {}
    for name, contract in targets.items():
        views = [
            f for f in ABIS[name] if f["type"] == "function" and f["stateMutability"] in ("view", "pure")
        ]
        assert views, name
        for item in views:
            args = [sample(p, scenario["values"]) for p in item["inputs"]]
            answers[f"{name}.{item['name']}"] = contract.get_function_by_name(item["name"])(*args).call()

    expected_views = {
        f"{name}.{f['name']}"
        for name in targets
        for f in ABIS[name]
        if f["type"] == "function" and f["stateMutability"] in ("view", "pure")
    }
    assert set(answers) == expected_views
    # the answers describe the scenario
    values = scenario["values"]
    assert answers["IssuerRegistry.isRegisteredIssuer"] is True
    assert answers["IssuerRegistry.issuerOf"][2] == "ipfs://issuer"
    assert answers["CampaignFactory.campaignOf"] == scenario["campaign"].address
    assert answers["CampaignFactory.predictCampaignAddress"] == scenario["campaign"].address
    assert answers["CampaignFactory.campaignCount"] == 1
    assert answers["Campaign.raised"] == 300 and answers["Campaign.finalized"] is True
    assert answers["Campaign.successful"] is True
    assert answers["Campaign.investmentOf"] == [values["investor"], 300, False]
    assert answers["ShareCertificate.ownerOf"] == values["owner"]
    assert answers["ShareCertificate.tokenURI"] == "ipfs://cert-1"
    assert answers["ShareCertificate.balanceOf"] == 1  # token 2 was transferred away
    assert answers["ShareCertificate.isApprovedForAll"] is True
    assert answers["ShareCertificate.supportsInterface"] is True
    assert answers["ShareCertificate.totalMinted"] == 3
    assert answers["ShareCertificate.tokenIdOfRef"] == 1
    assert answers["CredentialVault.verifyFingerprint"] is True
    assert answers["CredentialVault.verifyBatchCredential"] == [True, False, False]
    assert answers["CredentialVault.isLeafRevoked"] is True
    assert answers["CredentialVault.batchLeaf"] == leaf(
        client.w3, values["fingerprint"], values["subject"], values["credentialType"], 0
    )
    assert answers["CredentialVault.institutionOf"] == [True, True, True, "Bank", "ipfs://bank"]
    assert answers["CredentialVault.credentialCount"] == 2 and answers["CredentialVault.batchCount"] == 1
    assert answers["LoanRegistry.getLoan"][0] is True and answers["LoanRegistry.getLoan"][5] is True
    assert answers["LoanRegistry.loanKeyOf"] == Web3.keccak(text="LN-1")
    for name in ROLE_CONTRACTS:
        assert answers[f"{name}.hasRole"] is True


def test_every_event_decodes_from_the_abi_alone(client):
    start = client.w3.eth.block_number + 1
    scenario = run_scenario(client)
    # An independent indexer: the suite's addresses, plus every campaign its factory announces.
    by_address = {contract.address: (name, contract) for name, contract in client.contracts.items()}
    factory = client.contracts["CampaignFactory"]
    for log in client.w3.eth.get_logs({"fromBlock": start, "address": factory.address}):
        if bytes(log["topics"][0]) == bytes(
            Web3.keccak(text="CampaignCreated(bytes32,address,address,uint256,uint256,uint64)")
        ):
            created = factory.events.CampaignCreated().process_log(log)
            campaign = client.w3.eth.contract(
                address=created["args"]["campaignAddress"], abi=ABIS["Campaign"]
            )
            by_address[campaign.address] = ("Campaign", campaign)
    assert scenario["campaign"].address in by_address

    logs = client.w3.eth.get_logs({"fromBlock": start, "address": list(by_address)})
    assert len(logs) == sum(len(r["logs"]) for r in client.receipts)  # every log is ours
    decoded: dict[str, set[str]] = {}
    seen: list = []
    for log in logs:
        name, contract = by_address[Web3.to_checksum_address(log["address"])]
        event_name = events_by_topic(ABIS[name])[bytes(log["topics"][0])]
        event = contract.events[event_name]().process_log(log)
        assert event["event"] == event_name and event["address"] == contract.address
        decoded.setdefault(name, set()).add(event_name)
        seen.append((name, event_name, dict(event["args"])))

    all_names = set().union(*decoded.values())
    in_abis = {item["name"] for abi in ABIS.values() for item in abi if item["type"] == "event"}
    assert all_names >= REQUIRED
    assert all_names == in_abis - NOT_EMITTABLE
    assert decoded["Campaign"] == {
        "Initialized",
        "InvestmentRecorded",
        "InvestmentCancelled",
        "CampaignFinalized",
    }
    for name in ROLE_CONTRACTS:
        assert {"RoleGranted", "RoleRevoked"} <= decoded[name]

    # decoded arguments carry the scenario's values
    values = scenario["values"]
    args_of = {(n, e): a for n, e, a in seen}
    assert args_of[("CredentialVault", "BatchLeafRevoked")]["leaf"] == values["leaf"]
    assert args_of[("CredentialVault", "BatchAnchored")]["root"] == values["root"]
    assert args_of[("CredentialVault", "BatchAnchored")]["count"] == 2
    assert args_of[("Campaign", "InvestmentCancelled")]["amount"] == 50
    assert args_of[("Campaign", "CampaignFinalized")] == {"successful": True, "raised": 300}
    assert args_of[("ShareCertificate", "ApprovalForAll")] == {
        "owner": values["owner"],
        "operator": values["operator"],
        "approved": True,
    }
    assert args_of[("LoanRegistry", "LoanStored")]["loanId"] == "LN-1"
    assert args_of[("LoanRegistry", "LoanRepaid")]["repaidHash"] == Web3.keccak(text="repaid")
    assert args_of[("IssuerRegistry", "IssuerRevoked")] == {"issuer": client.accounts[7]}
