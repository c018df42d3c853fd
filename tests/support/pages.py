"""The desk's pages as the httpx tests read them: their forms, tables, text, and the refusals shown beside fields."""

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


class Forms(HTMLParser):
    """The forms of a page, each with its fields as the browser would send them untouched."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""
        self._template = 0  # inside a <template>: inert, never sent

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self._template += 1
        if self._template:
            return
        if tag == "form":
            self.forms.append({"action": a.get("action"), "fields": [], "boxes": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                self.forms[-1]["boxes"].append((a["name"], a.get("value", "on")))
                if "checked" in a:
                    self.forms[-1]["fields"].append((a["name"], a.get("value", "on")))
            elif a.get("type") != "submit":
                self.forms[-1]["fields"].append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a["name"]
            self.forms[-1]["fields"].append((a["name"], ""))
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1]["fields"][-1] = (self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "template":
            self._template -= 1
        if self._template:
            return
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.forms[-1]["fields"].append((self._textarea, self._text))
            self._textarea = None


def error_beside(page: str, field: str) -> str | None:
    """The refusal's message shown beside a field (the element the field's aria-describedby names)."""
    ident = "f-" + field.replace("[", "-").replace("]", "").replace(".", "-") + "-error"
    found = re.search(rf'id="{re.escape(ident)}"[^>]*>(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else None


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def repeated_ids(page: str) -> list[str]:
    """Element ids used more than once: a label or a message would point at the wrong field."""
    ids = re.findall(r'\sid="([^"]+)"', page)
    return sorted({i for i in ids if ids.count(i) > 1})


@dataclass
class Row:
    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)  # th and td, their text with spaces collapsed
    links: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " | ".join(self.cells)


class Tables(HTMLParser):
    """The page's tables by id: caption and rows (header rows included)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[Row]] = {}
        self.captions: dict[str, str] = {}
        self._table: str | None = None
        self._row: Row | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._table = attrs.get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._table:
            self._row = Row(attrs)
            self.tables[self._table].append(self._row)
        elif tag in ("th", "td") and self._row is not None:
            self._cell = []
        elif tag == "a" and self._row is not None:
            self._row.links.append(attrs.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "caption" and self._caption is not None:
            self.captions[self._table] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)
