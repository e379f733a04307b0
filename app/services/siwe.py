"""Sign-In with Ethereum messages parsed by the EIP-4361 ABNF grammar itself (the `abnf` package, RFC 3986/3339 rules).

The grammar below is EIP-4361's, rule for rule; the URI, authority and date-time rules come from the
`abnf` package's RFC 3986 and RFC 3339 grammars. The Python `siwe` package builds on the same parser but
pins web3 < 8 and eth-account < 0.14, which this project has outgrown, so only the grammar is used here
and the checks (domain, URI origin, times, EIP-55) are this module's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit

from abnf.grammars import rfc3339, rfc3986
from abnf.grammars.misc import load_grammar_rules
from abnf.parser import ParseError
from abnf.parser import Rule as _Rule

from app import clock
from app.chain.addresses import is_checksummed as is_checksum_address
from app.errors import InvalidInput


@load_grammar_rules(
    [
        # ABNF names are case-insensitive, so EIP-4361's `uri = URI` names one rule: RFC 3986's URI.
        ("uri", rfc3986.Rule("URI")),
        ("authority", rfc3986.Rule("authority")),
        ("reserved", rfc3986.Rule("reserved")),
        ("unreserved", rfc3986.Rule("unreserved")),
        ("pchar", rfc3986.Rule("pchar")),
        ("date-time", rfc3339.Rule("date-time")),
    ]
)
class Rule(_Rule):
    """EIP-4361's ABNF."""

    grammar: ClassVar[list[str]] = [
        'sign-in-with-ethereum = [ scheme "://" ] domain %s" wants you to sign in with your Ethereum account:" LF'
        ' address LF LF [ statement LF ] LF %s"URI: " uri LF %s"Version: " version LF %s"Chain ID: " chain-id LF'
        ' %s"Nonce: " nonce LF %s"Issued At: " issued-at [ LF %s"Expiration Time: " expiration-time ]'
        ' [ LF %s"Not Before: " not-before ] [ LF %s"Request ID: " request-id ] [ LF %s"Resources:" resources ]',
        'scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )',
        "domain = authority",
        'address = "0x" 40*40HEXDIG',
        'statement = *( reserved / unreserved / " " )',
        # Rules the EIP imports (besides RFC 5234's core rules), as prose filled in from the RFC grammars above.
        "uri = <URI, RFC 3986 section 3>",
        "authority = <RFC 3986 section 3.2>",
        "reserved = <RFC 3986 section 2.2>",
        "unreserved = <RFC 3986 section 2.3>",
        "pchar = <RFC 3986 section 3.3>",
        "date-time = <RFC 3339 section 5.6>",
        'version = "1"',
        "chain-id = 1*DIGIT",
        "nonce = 8*( ALPHA / DIGIT )",
        "issued-at = date-time",
        "expiration-time = date-time",
        "not-before = date-time",
        "request-id = *pchar",
        "resources = *( LF resource )",
        'resource = "- " URI',
    ]


@dataclass(frozen=True)
class SiweMessage:
    """The fields of a parsed EIP-4361 message (times aware, UTC)."""

    scheme: str | None
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None
    not_before: datetime | None
    request_id: str | None
    resources: tuple[str, ...]

    @property
    def origin(self) -> tuple[str, str]:
        """(scheme, host[:port]) of the URI, lower-cased, default ports dropped."""
        return origin_of(self.uri)


def origin_of(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    port = parts.port if parts.port not in (None, default) else None
    return scheme, host + (f":{port}" if port else "")


def _time(value: str, field: str) -> datetime:
    try:
        return clock.parse_rfc3339(value)  # the grammar checked it is RFC 3339, with its zone
    except ValueError:
        raise InvalidInput(f"SIWE message: {field} is not an RFC 3339 time: {value!r}") from None


class _Fields:
    """Collects the top-level fields of a parse tree by rule name."""

    NAMES = frozenset(
        {
            "scheme",
            "domain",
            "address",
            "statement",
            "uri",
            "version",
            "chain-id",
            "nonce",
            "issued-at",
            "expiration-time",
            "not-before",
            "request-id",
            "resources",
        }
    )

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.resources: list[str] = []

    def collect(self, node) -> None:  # type: ignore[no-untyped-def]
        for child in node.children:
            if child.name == "resources":
                self.resources = [r.value.removeprefix("- ") for r in child.children if r.name == "resource"]
                self.values["resources"] = child.value
            elif child.name in self.NAMES:
                self.values[child.name] = child.value


def parse_siwe(text: str) -> SiweMessage:
    """Parses an EIP-4361 message by its grammar; InvalidInput says where it stops matching."""
    try:
        tree = Rule("sign-in-with-ethereum").parse_all(text)
    except ParseError as exc:
        line = text[: exc.start].count("\n") + 1
        raise InvalidInput(
            f"not a Sign-In with Ethereum (EIP-4361) message: it does not parse at line {line}"
        ) from None
    fields = _Fields()
    fields.collect(tree)
    v = fields.values
    return SiweMessage(
        scheme=v.get("scheme"),
        domain=v["domain"],
        address=v["address"],
        statement=v.get("statement"),
        uri=v["uri"],
        version=v["version"],
        chain_id=int(v["chain-id"]),
        nonce=v["nonce"],
        issued_at=_time(v["issued-at"], "Issued At"),
        expiration_time=_time(v["expiration-time"], "Expiration Time") if "expiration-time" in v else None,
        not_before=_time(v["not-before"], "Not Before") if "not-before" in v else None,
        request_id=v.get("request-id"),
        resources=tuple(fields.resources),
    )


def checksummed(address: str) -> bool:
    """EIP-55: EIP-4361 requires the address in its mixed-case checksum form."""
    return is_checksum_address(address)
