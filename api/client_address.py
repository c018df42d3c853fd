"""The address of the person's computer: the connection's peer, or, only when that peer is a reverse proxy
configured as trusted (REFERRALS_TRUSTED_PROXIES), the nearest untrusted address it forwarded."""

from functools import lru_cache
from ipaddress import ip_address, ip_network

from starlette.requests import HTTPConnection

UNKNOWN = "unknown"


@lru_cache(maxsize=16)
def _networks(spec: str):
    return tuple(ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, networks) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(request: HTTPConnection) -> str:
    """Forwarded headers are read right to left, skipping the trusted proxies' own hops: anything to the left
    of the first untrusted hop could have been written by the client itself."""
    cached = getattr(request.state, "client_address", None)
    if cached:
        return cached
    peer = request.client.host if request.client else UNKNOWN
    networks = _networks(request.app.state.settings.trusted_proxies or "")
    address = peer
    if networks and _trusted(peer, networks):
        hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            address = hop
            if not _trusted(hop, networks):
                break
    request.state.client_address = address
    return address
