"""Outgoing HTTP may only reach public addresses (SSRF guard), checked after DNS resolution
and pinned: the request goes to the address that was checked, so a DNS answer that changes
between check and connect (rebinding) cannot redirect it inside the network.

Admins allow internal destinations with TRIBUTARY_HTTP_ALLOWED_NETWORKS (CIDRs).
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from runtime.kinds.contract import StepError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve_public(host: str, port: int) -> str:
    """An address of ``host`` that outgoing requests may reach; StepError otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise StepError(f"Cannot resolve {host!r}: {exc}.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    blocked = [address for address in addresses if not _allowed(address)]
    if blocked or not addresses:
        raise StepError(
            f"{host} resolves to {blocked[0] if blocked else 'nothing'}, a private, loopback "
            "or link-local address; requests to internal addresses are refused unless an "
            "admin allows the network (TRIBUTARY_HTTP_ALLOWED_NETWORKS).",
            retryable=False,
        )
    return str(addresses[0])


def _allowed(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return True
    return address.is_global and not address.is_multicast


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(cidr, strict=False)
        for cidr in settings.TRIBUTARY_HTTP_ALLOWED_NETWORKS
    ]
