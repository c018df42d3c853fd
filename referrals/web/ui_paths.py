"""Which requests for the Temporal UI go through the desk's door: one plain form of each path, and only the UI's
reads and the product's queries. The app's proxy (referrals/web/temporal_ui.py) decides with these; the compose front door
(deploy/nginx/temporal-ui.conf) applies the same rules in nginx's words.

The UI's server resolves `..` and reads encoded slashes as slashes, so a path is judged only in the one form it
will be read in: anything that could be read two ways is refused (400) before anything else is decided, and what
is let through is sent on in that form.
"""

import re
from urllib.parse import quote_from_bytes, unquote, unquote_to_bytes

from temporalio import workflow

PATH = "/temporal"
MAX_LENGTH = 2048  # far longer than any of the UI's own addresses
# The SDK's own queries, which the UI asks for a workflow's call stack and the queries it answers.
BUILT_IN_QUERIES = frozenset({"__stack_trace", "__enhanced_stack_trace", "__temporal_workflow_metadata"})
# The UI's server's read routes under /temporal/api/v1/ (the UI 2.x calls these; GETs of Temporal's HTTP API
# and the server's own settings). `{}` is one segment: a namespace, a workflow id, a schedule id...
READS = frozenset(
    tuple(route.split("/"))
    for route in (
        "settings",
        "me",
        "system-info",
        "cluster-info",
        "namespaces",
        "namespaces/{}",
        "namespaces/{}/search-attributes",
        "namespaces/{}/workflows",
        "namespaces/{}/workflow-count",
        "namespaces/{}/archived-workflows",
        "namespaces/{}/workflows/{}",
        "namespaces/{}/workflows/{}/history",
        "namespaces/{}/workflows/{}/history-reverse",
        "namespaces/{}/workflows/{}/run/{}/history.json",
        "namespaces/{}/schedules",
        "namespaces/{}/schedule-count",
        "namespaces/{}/schedules/{}",
        "namespaces/{}/schedules/{}/matching-times",
        "namespaces/{}/task-queues/{}",
        "namespaces/{}/task-queues/{}/worker-build-id-compatibility",
        "namespaces/{}/task-queues/{}/worker-versioning-rules",
        "namespaces/{}/workers",
        "namespaces/{}/worker-count",
        "namespaces/{}/workers/describe/{}",
        "namespaces/{}/worker-task-reachability",
        "namespaces/{}/worker-deployments",
        "namespaces/{}/worker-deployments/{}",
        "namespaces/{}/worker-deployment-versions/{}/{}",
        "namespaces/{}/batch-operations",
        "namespaces/{}/batch-operations/{}",
        "namespaces/{}/activities",
        "namespaces/{}/activity-count",
        "namespaces/{}/activities/{}",
        "namespaces/{}/nexus-operations",
        "namespaces/{}/nexus-operation-count",
        "namespaces/{}/nexus-operations/{}",
        "nexus/endpoints",
        "nexus/endpoints/{}",
    )
)
QUERY = ("namespaces", "{}", "workflows", "{}", "query")  # then the query's name
# Percent-escapes never in a plain path: an encoded percent sign (how every double encoding starts), dot, slash,
# backslash, `;`, `?`, `#`, or a control character; and a `%` that escapes nothing.
_ENCODED = re.compile(r"%(?:25|2e|2f|5c|3b|3f|23|[01][0-9a-f]|7f)|%(?![0-9a-f]{2})", re.IGNORECASE)
_PLAIN = re.compile(r"[!-~]*")  # printable ASCII: no space, control character or raw non-ASCII byte
_SAFE = "!$&'()*+,=:@~"  # RFC 3986's pchar, less `;` (a segment is quoted back with exactly these left as they are)


class Malformed(ValueError):
    """A path in a form other than the plain one; its message says which, for the person who sent it."""


def queries_of(*classes: type) -> frozenset[str | None]:
    """The names of the queries (`@workflow.query`) that the workflow classes define (None: a dynamic one's)."""
    return frozenset(name for cls in classes for name in workflow._Definition.must_from_class(cls).queries)


def normalise(raw: str) -> str:
    """The one plain form of a request's path as it was sent (still percent-encoded); Malformed for any other."""
    if len(raw) > MAX_LENGTH:
        raise Malformed("is too long")
    if not raw.startswith("/") or not _PLAIN.fullmatch(raw):
        raise Malformed("is not a plain path")
    if "\\" in raw or ";" in raw:
        raise Malformed("has a backslash or a `;`")
    if _ENCODED.search(raw):
        raise Malformed("has an encoded dot, slash, backslash, percent sign or control character")
    segments = raw.split("/")[1:]
    if "" in segments[:-1]:
        raise Malformed("has an empty segment (`//`)")
    if {".", ".."} & set(segments):
        raise Malformed("has a `.` or `..` segment")
    # Each segment decoded to its bytes and escaped again one way: the same bytes for the UI's server.
    return "/" + "/".join(quote_from_bytes(unquote_to_bytes(segment), safe=_SAFE) for segment in segments)


def _matches(parts: list[str], route: tuple[str, ...]) -> bool:
    """The route's segments, each `{}` any one segment (never an empty one)."""
    return len(parts) == len(route) and all(
        part == want or (want == "{}" and part != "") for part, want in zip(parts, route)
    )


def allowed(method: str, path: str, queries: frozenset[str | None]) -> bool:
    """A normalised path under /temporal: the UI's pages and assets, the listed reads, and the named queries;
    nothing else (terminate, reset, signal, update, cancel, batch, schedule changes...)."""
    if path != PATH and not path.startswith(PATH + "/"):
        return False
    parts = path.split("/")[2:]
    if parts[:1] != ["api"]:  # a page or an asset
        return method in ("GET", "HEAD")
    if parts[:2] != ["api", "v1"]:
        return False
    route = [unquote(part) for part in parts[2:]]
    if method in ("GET", "HEAD"):
        return any(_matches(route, read) for read in READS)
    return method == "POST" and len(route) == len(QUERY) + 1 and _matches(route[:-1], QUERY) and route[-1] in queries
