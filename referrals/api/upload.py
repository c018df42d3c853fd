"""A multipart/form-data body read as it arrives: its parts' headers and their data in pieces, never whole.

Starlette's own form parsing spools files to temporary files before the route runs; evidence goes straight from
the socket to storage instead, hashed and sniffed on the way (referrals/api/routes/evidence.py).
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.multipart import MultipartParseError, MultipartParser, MultipartState, parse_options_header
from starlette.requests import ClientDisconnect, Request

from referrals.api.errors import ApiError

if TYPE_CHECKING:  # declared for type checkers only
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 32  # an evidence form has a handful; more is not a form of ours


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None


@dataclass
class _Events:
    """What the parser's callbacks saw in one piece of the body, in order."""

    items: list = field(default_factory=list)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, str] = field(default_factory=dict)

    def callbacks(self) -> "MultipartCallbacks":
        def header_end():
            self.headers[self.header_field.decode("latin-1").lower()] = self.header_value.decode("utf-8", "replace")
            self.header_field.clear()
            self.header_value.clear()

        def headers_finished():
            kind, options = parse_options_header(self.headers.get("content-disposition", ""))
            name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            self.items.append(
                Part(
                    name,
                    filename.decode("utf-8", "replace") if filename is not None else None,
                    self.headers.get("content-type"),
                )
            )
            self.headers = {}

        return {
            "on_header_field": lambda data, start, end: self.header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
            "on_header_end": header_end,
            "on_headers_finished": headers_finished,
            "on_part_data": lambda data, start, end: self.items.append(bytes(data[start:end])),
            "on_part_end": lambda: self.items.append(None),
        }


async def multipart(request: Request) -> AsyncGenerator[Part | bytes | None, None]:
    """The body's parts in order: a Part when one begins, then its data in pieces (bytes), then None at its end.
    At most MAX_PARTS parts, each with at most 8 headers of 4 KiB; nothing after the closing boundary is read."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise ApiError(
            415,
            "send the evidence as multipart/form-data, with parts `metadata` and `file`",
            [{"field": "Content-Type", "message": "must be multipart/form-data with a boundary"}],
        )
    events = _Events()
    parser = MultipartParser(options[b"boundary"], events.callbacks(), max_header_count=8, max_header_size=4224)
    parts = 0
    try:
        async for piece in request.stream():
            parser.write(piece)
            for item in events.items:
                if isinstance(item, Part):
                    parts += 1
                    if parts > MAX_PARTS:
                        raise ApiError(
                            413,
                            f"body: more than {MAX_PARTS} parts",
                            [{"field": "body", "message": f"more than {MAX_PARTS} parts"}],
                            headers={"Connection": "close"},
                        )
                yield item
            events.items.clear()
            if parser.state == MultipartState.END:  # the closing boundary: whatever follows is not read
                return
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(
            422,
            f"body: not a well-formed multipart body ({exc})",
            [{"field": "body", "message": "not a well-formed multipart body"}],
        ) from None
    except ClientDisconnect:
        raise ApiError(400, "the upload ended before its body did") from None
    for item in events.items:
        yield item
