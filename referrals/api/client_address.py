"""The address of the person's computer: the connection's peer, or, only when that peer is a reverse proxy
configured as trusted (REFERRALS_TRUSTED_PROXIES), the nearest untrusted address it forwarded.

uvicorn must be started with `--no-proxy-headers` (make run, the Dockerfile and compose do): by default it
believes X-Forwarded-For from loopback and puts the claimed address in the peer's place before the app sees it.
Should it do so anyway, the real peer is lost: such a request's address is `unknown`, never the one it claimed,
and the log says once how the API was started wrong."""

from functools import lru_cache
from ipaddress import ip_address, ip_network

import structlog
from starlette.requests import HTTPConnection

UNKNOWN = "unknown"
log = structlog.get_logger()
_warned = False


@lru_cache(maxsize=16)
def _networks(spec: str):
    return tuple(ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, networks) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def _host(hop: str) -> str:
    """A forwarded hop without its port, as a server taking it for the peer would write it."""
    if hop.startswith("["):
        return hop[1 : hop.find("]")] if "]" in hop else hop
    return hop.rsplit(":", 1)[0] if hop.count(":") == 1 else hop


def _rewritten_by_server(peer: str, hops: list[str]) -> bool:
    """The peer is one of the forwarded hops: the server took it from the header (uvicorn without
    `--no-proxy-headers`), for no connection forwards its own address to itself."""
    global _warned
    if peer not in {_host(hop) for hop in hops}:
        return False
    if not _warned:
        _warned = True
        log.warning(
            "client_address_rewritten_by_server",
            advice="start uvicorn with --no-proxy-headers; list reverse proxies in REFERRALS_TRUSTED_PROXIES",
        )
    return True


def client_address(request: HTTPConnection) -> str:
    """Forwarded headers are read right to left, skipping the trusted proxies' own hops: anything to the left
    of the first untrusted hop could have been written by the client itself."""
    cached = getattr(request.state, "client_address", None)
    if cached:
        return cached
    peer = request.client.host if request.client else UNKNOWN
    networks = _networks(request.app.state.settings.trusted_proxies or "")
    hops = [hop.strip() for hop in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if hop.strip()]
    address = peer
    if networks and _trusted(peer, networks):
        for hop in reversed(hops):
            address = hop
            if not _trusted(hop, networks):
                break
    elif hops and _rewritten_by_server(peer, hops):
        address = UNKNOWN
    request.state.client_address = address
    return address
