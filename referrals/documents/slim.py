"""Slim a .docx template: drop what python-docx's default package carries and the templates never use.

    .venv/bin/python -m referrals.documents.slim templates/documents/*.docx

python-docx starts every document from a package with ~790 KB of style XML (`stylesWithEffects.xml`,
a Word 2010 leftover, and `styles.xml` with every built-in style and latent style). Each render
parses that and compresses it again, which was most of a document's cost. This keeps the styles the
package uses (directly, or as the base, linked or next style of one in use, or a default) and drops
the rest; Word and LibreOffice fall back to their built-ins for anything a later edit adds.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
LEGACY = "word/stylesWithEffects.xml"


def _used_style_ids(parts: dict[str, bytes]) -> set[str | None]:
    used: set[str | None] = set()  # None: a reference without its w:val
    for name, data in parts.items():
        if name.startswith("word/") and name.endswith(".xml") and name != "word/styles.xml":
            tree = etree.fromstring(data)
            for tag in ("pStyle", "rStyle", "tblStyle", "numStyleLink", "styleLink"):
                used.update(e.get(f"{{{W}}}val") for e in tree.iter(f"{{{W}}}{tag}"))
    return used


def slim_styles(styles_xml: bytes, used: set[str | None]) -> bytes:
    root = etree.fromstring(styles_xml)
    styles = {s.get(f"{{{W}}}styleId"): s for s in root.iter(f"{{{W}}}style")}
    keep = used | {sid for sid, s in styles.items() if s.get(f"{{{W}}}default") == "1"}
    todo = list(keep)
    while todo:  # the styles those depend on
        style = styles.get(todo.pop())
        if style is None:
            continue
        for tag in ("basedOn", "link", "next"):
            for ref in style.iter(f"{{{W}}}{tag}"):
                if (sid := ref.get(f"{{{W}}}val")) not in keep:
                    keep.add(sid)
                    todo.append(sid)
    for sid, style in styles.items():
        if sid not in keep:
            root.remove(style)
    for latent in root.findall(f"{{{W}}}latentStyles"):
        root.remove(latent)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _without_legacy(name: str, data: bytes) -> bytes:
    root = etree.fromstring(data)
    if name == "[Content_Types].xml":
        for override in root.findall(f"{{{TYPES}}}Override"):
            if override.get("PartName") == "/" + LEGACY:
                root.remove(override)
    else:
        for rel in root.findall(f"{{{REL}}}Relationship"):
            if rel.get("Target") == LEGACY.removeprefix("word/"):
                root.remove(rel)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def slim(path: Path) -> tuple[int, int]:
    """Rewrite `path` in place; returns its uncompressed size before and after."""
    with zipfile.ZipFile(path) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    before = sum(len(data) for data in parts.values())
    parts.pop(LEGACY, None)
    parts["[Content_Types].xml"] = _without_legacy("[Content_Types].xml", parts["[Content_Types].xml"])
    parts["word/_rels/document.xml.rels"] = _without_legacy("rels", parts["word/_rels/document.xml.rels"])
    parts["word/styles.xml"] = slim_styles(parts["word/styles.xml"], _used_style_ids(parts))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return before, sum(len(data) for data in parts.values())


def main(paths: list[str]) -> int:
    for name in paths:
        before, after = slim(Path(name))
        print(f"{name}: {before:,} -> {after:,} bytes of XML")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
