"""A photo's thumbnail for the desk's pages: a small copy made from the photo, never the photo's own bytes.

The desk shows it without a custody event (its fetch is in the access trail): a user who asks for it by hand gets
the small copy, not the evidence, so it hides no taking of the item. Opening the photo itself is custody."""

import io
import warnings
from collections import OrderedDict

from PIL import Image, ImageOps

BOX = (320, 240)  # twice the case page's 160 x 120, for a sharp picture on a high-density screen
MAX_BYTES = 64 * 1024 * 1024  # a photo larger than this gets no thumbnail (the page links to opening it)
MAX_PIXELS = 80_000_000  # nor a picture of more pixels than a camera makes (a decompression bomb)
TYPES = {"image/jpeg": "JPEG", "image/png": "PNG"}


KEPT = 256  # thumbnails kept in memory, by the photo's SHA-256 (a few tens of KB each): a page shown again reads none
_kept: OrderedDict[str, bytes] = OrderedDict()


def kept(sha256: str) -> bytes | None:
    if (small := _kept.get(sha256)) is not None:
        _kept.move_to_end(sha256)
    return small


def keep(sha256: str, small: bytes) -> None:
    _kept[sha256] = small
    while len(_kept) > KEPT:
        _kept.popitem(last=False)


class NoThumbnail(Exception):
    """The bytes are not a picture a thumbnail can be made of (too large, damaged, not what they were typed as)."""


def thumbnail(content: bytes, content_type: str) -> bytes:
    """The picture shrunk to fit BOX (never enlarged), turned upright as the camera recorded, without its metadata
    (no place, no camera serial), in the same format. Raises NoThumbnail."""
    if content_type not in TYPES or len(content) > MAX_BYTES:
        raise NoThumbnail(content_type)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[TYPES[content_type]]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise NoThumbnail(f"{width} x {height} pixels")
                image.draft("RGB", BOX)  # a JPEG decoded at a fraction of its size: fast, and little memory
                small = ImageOps.exif_transpose(image)
                small.thumbnail(BOX)
                if TYPES[content_type] == "JPEG" and small.mode not in ("RGB", "L"):
                    small = small.convert("RGB")
                out = io.BytesIO()
                small.save(out, TYPES[content_type])
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NoThumbnail(str(exc)) from None
    return out.getvalue()
