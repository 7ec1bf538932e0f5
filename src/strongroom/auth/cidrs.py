"""Address and CIDR lists of the auth methods: parsing, display and matching.

Two flavours, as in Vault:

* `parse_addrs` (token_bound_cidrs of users and roles) takes single addresses
  or CIDR blocks and shows a single-host block as the bare address
  (`127.0.0.1/32` reads back as `127.0.0.1`);
* `parse_cidrs` (approle secret-id CIDR lists) insists on CIDR notation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from strongroom.core.errors import BadRequest, VaultError, multierror

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _interface(text: str) -> Interface | None:
    try:
        return ipaddress.ip_interface(text.strip())
    except ValueError:
        return None


def _show(iface: Interface) -> str:
    if iface.network.prefixlen == iface.max_prefixlen:
        return str(iface.ip)
    return f"{iface.ip}/{iface.network.prefixlen}"


def parse_addrs(values: Iterable[str] | None) -> list[str]:
    """Addresses or CIDR blocks, normalised for display; 400 on anything else."""
    out: list[str] = []
    for value in values or ():
        iface = _interface(value)
        if iface is None:
            raise BadRequest(
                f'error parsing address "{value}": Unable to convert "{value}" to an '
                "IPv4 or IPv6 address, or a UNIX Socket"
            )
        out.append(_show(iface))
    return out


def parse_cidrs(values: Iterable[str] | None, what: str = "CIDR blocks") -> list[str]:
    """CIDR blocks in `a.b.c.d/n` form, kept as written (Vault's cidrutil check)."""
    out: list[str] = []
    for value in values or ():
        value = value.strip()
        if "/" not in value or _interface(value) is None:
            raise VaultError(
                multierror(f"failed to validate {what}: invalid CIDR address: {value}"),
                status=500,
            )
        out.append(value)
    return out


def _network(text: str) -> Network | None:
    iface = _interface(text)
    return iface.network if iface is not None else None


def addr_allowed(remote_addr: str, cidrs: Iterable[str]) -> bool:
    """Whether `remote_addr` lies in one of `cidrs`; an empty list allows anyone.

    A request without a usable source address is refused when a list is set.
    """
    cidr_list = list(cidrs)
    if not cidr_list:
        return True
    blocks = [n for n in (_network(c) for c in cidr_list) if n is not None]
    try:
        addr = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # a dual-stack listener reports IPv4 clients this way
    return any(addr.version == block.version and addr in block for block in blocks)


def is_subset(outer: list[str], inner: list[str]) -> bool:
    """Whether every block of `inner` lies inside some block of `outer`."""
    outer_nets = [n for n in (_network(c) for c in outer) if n is not None]
    for text in inner:
        net = _network(text)
        if net is None:
            return False
        if not any(net.version == o.version and net.subnet_of(o) for o in outer_nets):
            return False
    return True


def go_quoted_cidrs(values: Iterable[str]) -> str:
    """A list as Go's `%q` prints it, single hosts with their /32 (/128) suffix."""
    shown = []
    for value in values:
        iface = _interface(value)
        text = value if iface is None else f"{iface.ip}/{iface.network.prefixlen}"
        shown.append(f'"{text}"')
    return "[" + " ".join(shown) + "]"
