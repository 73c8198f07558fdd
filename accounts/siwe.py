"""EIP-4361 (Sign-In with Ethereum) messages: building and strict parsing.

The `siwe` package on PyPI pins web3 < 8, so the message grammar is implemented here, following
the ABNF in the EIP; signature recovery uses eth-account (EIP-191 personal_sign).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from eth_utils import is_checksum_address

HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
_NONCE_RE = re.compile(r"^[A-Za-z0-9]{8,}$")
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DOMAIN_RE = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<domain>[^\s/?#]+)$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class SiweMessageError(ValueError):
    """The text is not a well-formed EIP-4361 message."""


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    version: str = "1"
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)
    scheme: str | None = None

    def to_text(self) -> str:
        origin = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [origin + HEADER_SUFFIX, self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines.append("")
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_format_time(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_format_time(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_format_time(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)


def _format_time(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SiweMessageError(f"{name} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise SiweMessageError(f"{name} must carry a time zone")
    return parsed


def _take(lines: list[str], i: int, prefix: str, *, optional: bool = False) -> tuple[str | None, int]:
    if i < len(lines) and lines[i].startswith(prefix):
        return lines[i][len(prefix) :], i + 1
    if optional:
        return None, i
    raise SiweMessageError(f"expected a line starting with {prefix.strip()!r}")


def parse_siwe_message(text: str) -> SiweMessage:
    """Parse EIP-4361 text; raise SiweMessageError naming the first thing that is wrong."""
    if not isinstance(text, str) or not text:
        raise SiweMessageError("the message is empty")
    if "\r" in text:
        raise SiweMessageError("the message must use LF line endings")
    lines = text.split("\n")
    if len(lines) < 9 or not lines[0].endswith(HEADER_SUFFIX):
        raise SiweMessageError(
            "the first line must be '<domain> wants you to sign in with your Ethereum account:'"
        )
    origin = _DOMAIN_RE.match(lines[0][: -len(HEADER_SUFFIX)])
    if not origin:
        raise SiweMessageError("the domain is malformed")
    address = lines[1]
    if not _ADDRESS_RE.match(address) or not is_checksum_address(address):
        raise SiweMessageError("the address must be an EIP-55 checksummed address")
    if lines[2] != "":
        raise SiweMessageError("expected an empty line after the address")
    i = 3
    statement = None
    if lines[i] != "":
        statement = lines[i]
        i += 1
    if i >= len(lines) or lines[i] != "":
        raise SiweMessageError("expected an empty line after the statement")
    i += 1
    uri, i = _take(lines, i, "URI: ")
    version, i = _take(lines, i, "Version: ")
    chain_id_text, i = _take(lines, i, "Chain ID: ")
    nonce, i = _take(lines, i, "Nonce: ")
    issued_at_text, i = _take(lines, i, "Issued At: ")
    expiration_text, i = _take(lines, i, "Expiration Time: ", optional=True)
    not_before_text, i = _take(lines, i, "Not Before: ", optional=True)
    request_id, i = _take(lines, i, "Request ID: ", optional=True)
    resources: list[str] = []
    if i < len(lines) and lines[i] == "Resources:":
        i += 1
        while i < len(lines) and lines[i].startswith("- "):
            resources.append(lines[i][2:])
            i += 1
    if i != len(lines):
        raise SiweMessageError(f"unexpected content on line {i + 1}")
    if not uri or not _URI_RE.match(uri):
        raise SiweMessageError("URI must be an RFC 3986 URI")
    if version != "1":
        raise SiweMessageError("only version 1 is supported")
    if not chain_id_text or not chain_id_text.isdigit():
        raise SiweMessageError("Chain ID must be a decimal integer")
    if not nonce or not _NONCE_RE.match(nonce):
        raise SiweMessageError("Nonce must be at least 8 alphanumeric characters")
    return SiweMessage(
        scheme=origin.group("scheme"),
        domain=origin.group("domain"),
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_id_text),
        nonce=nonce,
        issued_at=_parse_time("Issued At", issued_at_text or ""),
        expiration_time=_parse_time("Expiration Time", expiration_text)
        if expiration_text is not None
        else None,
        not_before=_parse_time("Not Before", not_before_text) if not_before_text is not None else None,
        request_id=request_id,
        resources=tuple(resources),
    )
