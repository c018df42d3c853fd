"""Writes the starting Word templates under templates/documents/ (`python -m referrals.documents.templates`).

Run once; afterwards the department edits the .docx files in Word. They are docxtpl templates:
Jinja2 tags in the text ({{ value }}, {%p for %} paragraphs, {%tr for %} table rows), real
Word headings and tables, the case number and the sensitivity marking in every page's header,
"Page X of Y" in every footer.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from referrals.documents.slim import slim

OUT = Path(__file__).resolve().parent.parent.parent / "templates" / "documents"
MARKING = "LAW ENFORCEMENT SENSITIVE"


def _field(paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _base(title: str):
    doc = Document()
    doc.core_properties.title = title
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    section = doc.sections[0]
    # US Letter, portrait, one-inch margins: 6.5 inches of text, which every table's columns add up to.
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Inches(1)
    header = section.header.paragraphs[0]
    header.text = "{{ case_number }} · " + MARKING
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("{{ department }} · Page ")
    _field(footer, "PAGE")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES")
    letterhead = doc.add_paragraph()
    letterhead.add_run("{{ department }}").bold = True
    doc.add_paragraph("{{ department_address }}")
    doc.add_heading(title, level=1)
    return doc


TEXT_WIDTH = 6.5  # inches
TABLE_FONT = Pt(9)


def _table(doc, headers: list[str], loop: str, cells: list[str], widths: list[float]) -> None:
    """A header row, then one row per item: docxtpl's {%tr %} rows around the data row. Fixed column
    widths (inches, filling the text width) sized so that no id or word breaks across lines."""
    assert abs(sum(widths) - TEXT_WIDTH) < 0.01, (headers, sum(widths))
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Inches(width)
        for cell in column.cells:
            cell.width = Inches(width)
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        cell.paragraphs[0].runs[0].font.size = TABLE_FONT
    table.rows[1].cells[0].text = "{%tr for " + loop + " %}"
    for cell, text in zip(table.rows[2].cells, cells, strict=True):
        for n, line in enumerate(text.split("\n")):  # a cell of several lines: one paragraph each
            paragraph = cell.paragraphs[0] if n == 0 else cell.add_paragraph()
            paragraph.add_run(line).font.size = TABLE_FONT
    table.rows[3].cells[0].text = "{%tr endfor %}"
    # Repeat the header row on every page the table spans.
    row_pr = table.rows[0]._tr.get_or_add_trPr()
    header_flag = OxmlElement("w:tblHeader")
    header_flag.set(qn("w:val"), "true")
    row_pr.append(header_flag)


def _log(doc, loop: str, when: str, text: str, indent: float, *more: str) -> None:
    """One entry a paragraph, its time (or key) first and its text a tab away, the text's further lines (`more`,
    each after a line break) under the text: a table's look in plain paragraphs, for the long lists (a packet's
    timeline, exhibits, 300 chains of custody, its history). LibreOffice takes about 4 ms to read each Word table
    and more for each row, so the big case's tables were half its packet's PDF time (docs/performance.md)."""
    doc.add_paragraph("{%p for " + loop + " %}")
    line = doc.add_paragraph()
    form = line.paragraph_format
    form.left_indent, form.first_line_indent, form.space_after = Inches(indent), Inches(-indent), Pt(2)
    form.tab_stops.add_tab_stop(Inches(indent))
    line.add_run(when).font.size = TABLE_FONT
    line.add_run().add_tab()
    line.add_run(text).font.size = TABLE_FONT
    for further in more:
        line.add_run().add_break()
        line.add_run(further).font.size = TABLE_FONT
    doc.add_paragraph("{%p endfor %}")


def _contents(doc, sections: list[str]) -> None:
    """A table of contents with page numbers: Word's TOC field over the numbered sections (the level-2 headings, with
    links to them). Word brings it up to date when the document is opened (the settings' updateFields), the PDF
    conversion before it exports (referrals/documents/pdf.py); until then it lists the sections without page numbers.
    The heading "Contents" and the document's title are body text to the outline, so the contents list neither (Word
    reads "2-2" as the second level alone, LibreOffice as the first two)."""
    heading = doc.add_heading("Contents", level=2)
    for paragraph in [*(p for p in doc.paragraphs if p.style.name == "Heading 1"), heading]:
        outline = OxmlElement("w:outlineLvl")
        outline.set(qn("w:val"), "9")  # body text
        paragraph._p.get_or_add_pPr().insert_element_before(outline, "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr")
    # Word's own style for an entry of the second level (LibreOffice's "Contents 2"): close lines, dotted leaders.
    style = doc.styles.add_style("toc 2", WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = "TOC2"
    style.element.attrib.pop(qn("w:customStyle"))  # Word's built-in, defined here
    style.base_style = doc.styles["Normal"]
    style.paragraph_format.space_after = Pt(3)
    style.paragraph_format.tab_stops.add_tab_stop(Inches(TEXT_WIDTH), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    entries = [f"{n}. {title}" for n, title in enumerate(sections, 1)]
    for n, entry in enumerate(entries):
        paragraph = doc.add_paragraph(style=style)
        if n == 0:
            _field_char(paragraph, "begin")
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = ' TOC \\o "2-2" \\h \\z \\u '
            run = OxmlElement("w:r")
            run.append(instruction)
            paragraph._p.append(run)
            _field_char(paragraph, "separate")
        paragraph.add_run(entry)
        if n == len(entries) - 1:
            _field_char(paragraph, "end")
    _update_fields_on_open(doc)


def _field_char(paragraph, kind: str) -> None:
    """One of the begin, separate and end marks of a field that spans runs (and here paragraphs)."""
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        char.set(qn("w:dirty"), "true")  # its result is out of date: Word recomputes it
    run = OxmlElement("w:r")
    run.append(char)
    paragraph._p.append(run)


# What follows w:updateFields in the settings part (CT_Settings' sequence): it goes before the first of them there.
_AFTER_UPDATE_FIELDS = (
    "w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat", "w:docVars", "w:rsids", "m:mathPr",
    "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping", "w:doNotIncludeSubdocsInStats",
    "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions", "w:readModeInkLockDown", "w:smartTagType",
    "sl:schemaLibrary", "w:shapeDefaults", "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator",
)  # fmt: skip


def _update_fields_on_open(doc) -> None:
    settings = doc.settings.element
    if settings.find(qn("w:updateFields")) is None:
        update = OxmlElement("w:updateFields")
        update.set(qn("w:val"), "true")
        settings.insert_element_before(update, *_AFTER_UPDATE_FIELDS)


def _paragraphs(doc, loop: str, text: str) -> None:
    doc.add_paragraph("{%p for " + loop + " %}")
    doc.add_paragraph(text)
    doc.add_paragraph("{%p endfor %}")


def _analysis(doc, title: str) -> None:
    """Per federal subject: the acts, each charge element by element, the two prongs of In re Neagle and the
    finding, the disputed facts."""
    doc.add_heading(title, level=2)
    doc.add_paragraph("{%p for s in subjects %}")
    doc.add_heading("{{ s.title }}", level=3)
    _paragraphs(doc, "p in s.acts", "{{ p }}")
    doc.add_paragraph("{%p for c in s.charges %}")
    doc.add_paragraph("{{ c.statute }} {{ c.title }}").runs[0].bold = True
    doc.add_paragraph("{%p if c.elements %}")
    _table(
        doc,
        ["No.", "Element", "Facts", "Exhibits"],
        "e in c.elements",
        ["{{ e.number }}", "{{ e.element }}", "{{ e.facts }}", "{{ e.evidence }}"],
        [0.4, 2.2, 2.9, 1.0],
    )
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if c.note %}")
    doc.add_paragraph("{{ c.note }}").runs[0].italic = True
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p endfor %}")
    for number, prong, title in (
        (1, "authority", "authorised by federal law"),
        (2, "necessary", "necessary and proper"),
    ):
        doc.add_heading(f"Prong {number}: {title}", level=4)
        _paragraphs(doc, f"p in s.{prong}.facts", "{{ p }}")
        _paragraphs(doc, f"p in s.{prong}.analysis", "{{ p }}")
        doc.add_paragraph(f"{{%p if s.{prong}.finding %}}")
        doc.add_paragraph(f"Prong {number}: {{{{ s.{prong}.finding }}}}.")
        doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("Immunity finding: {{ s.finding }}.").runs[0].bold = True
    doc.add_paragraph("Disposition: {{ s.disposition }}.").runs[0].bold = True
    doc.add_paragraph("{%p if s.disputed %}")
    doc.add_paragraph("Disputed facts:")
    doc.add_paragraph("{%p for f in s.disputed %}")
    doc.add_paragraph("{{ f }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p endfor %}")


def _offences(doc, title: str = "Alleged offences") -> None:
    doc.add_heading(title, level=2)
    _table(
        doc,
        ["Citation", "Offence", "Person", "Facts"],
        "a in allegations",
        ["{{ a.statute }}", "{{ a.title }}", "{{ a.person }}", "{{ a.facts }}"],
        [1.3, 1.5, 1.3, 2.4],
    )


def preservation_request():
    doc = _base("Request to preserve body-worn camera recordings")
    doc.add_paragraph("To: the evidence custodian. From: {{ department }}. Date: {{ generated_at }}.")
    doc.add_paragraph(
        "Case {{ case_number }} · {{ event_word }} {{ event_number }} · {{ District_word }} {{ district }}{{ district_name }}. "
        "Incident of {{ occurred_at }} at {{ location }}."
    )
    doc.add_heading("Hold deadline", level=2)
    doc.add_paragraph(
        "Confirm the hold on every recording below by {{ hold_deadline }}. Each purge date follows "
        "the recording's flags under {{ retention_law }}; an unflagged recording is destroyed "
        "{{ retention_days }} days after it was recorded."
    )
    doc.add_paragraph("{%p if purge_warnings %}")
    doc.add_paragraph("URGENT: {{ purge_warnings }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading("Recordings", level=2)
    _table(
        doc,
        ["Camera", "Officer {{ badge }}", "Recorded", "Purge date", "Flag reasons", "Hold reference"],
        "r in recordings",
        [
            "{{ r.camera_id }}",
            "{{ r.officer_star }}",
            "{{ r.started_at }} to {{ r.ended_at }}",
            "{{ r.purge_at }}",
            "{{ r.flag_reasons }}",
            "{{ r.hold }}",
        ],
        [0.9, 0.7, 1.5, 1.1, 1.1, 1.2],
    )
    doc.add_heading("How to confirm the hold", level=2)
    for step in (
        "In Axon Evidence.com, find each recording by camera and time, tag it with event {{ event_number }} "
        "and attach it to case {{ case_number }} (or give it a retention category with no auto-delete).",
        "Record the hold reference and the retention date of each recording in the referral system, on case "
        "{{ case_number }}'s page under \u201cConfirm footage holds\u201d, one entry per camera. Partial holds are "
        "accepted; the task stays open until every recording is held.",
        "Recordings you cannot find: say so to the filing officer's supervisor at once.",
    ):
        doc.add_paragraph(step, style="List Number")
    return doc


def hold_confirmation():
    """Once every recording is held: the record of what is held, under which reference and until when."""
    doc = _base("Confirmation of holds on body-worn camera recordings")
    doc.add_paragraph("To: the case file and the evidence custodian. From: {{ department }}. Date: {{ generated_at }}.")
    doc.add_paragraph(
        "Case {{ case_number }} · {{ event_word }} {{ event_number }} · {{ District_word }} {{ district }}{{ district_name }}. "
        "Incident of {{ occurred_at }} at {{ location }}."
    )
    doc.add_paragraph(
        "Every recording of this case is held. Without its hold, a recording is destroyed on its purge date; held, "
        "it is kept until the date below, under the hold reference given."
    )
    doc.add_heading("Recordings held", level=2)
    _table(
        doc,
        ["Camera", "Officer {{ badge }}", "Recorded", "Purge date", "Hold reference", "Retained until"],
        "r in held",
        [
            "{{ r.camera_id }}",
            "{{ r.officer_star }}",
            "{{ r.started_at }} to {{ r.ended_at }}",
            "{{ r.purge_at }}",
            "{{ r.hold }}",
            "{{ r.retained_until }}",
        ],
        [0.9, 0.7, 1.5, 1.1, 1.2, 1.1],
    )
    doc.add_heading("Who confirmed each hold", level=2)
    _paragraphs(doc, "r in held", "{{ r.camera_id }}: {{ r.held_by }}, {{ r.held_at }}.")
    return doc


def legal_review_memo():
    doc = _base("Legal review memorandum (internal)")
    doc.add_paragraph(
        "Case {{ case_number }} · {{ District_word }} {{ district }} · Reviewer {{ review.by }} · "
        "Decided {{ review.at }}."
    )
    doc.add_heading("Decision", level=2)
    doc.add_paragraph("Decision: {{ review.decision }}. Charges supported: {{ review.charges }}.")
    doc.add_paragraph("{%p if review.return_tasks %}")
    doc.add_paragraph("Returned for further work on: {{ review.return_tasks }}.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading("Rationale", level=2)
    _paragraphs(doc, "p in review.rationale", "{{ p }}")
    _analysis(doc, "Supremacy Clause immunity, subject by subject")
    doc.add_heading("Federally held evidence", level=2)
    doc.add_paragraph("{%p if touhy %}")
    doc.add_paragraph(
        "Each agency below receives a Touhy request for what it holds; the answers are tracked on the case."
    )
    _table(
        doc,
        ["Request", "Agency", "Records or testimony sought", "Answer due"],
        "t in touhy",
        ["{{ t.id }}", "{{ t.agency }}", "{{ t.records }}", "{{ t.due }}"],
        [0.7, 1.6, 2.9, 1.3],
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("This review asks no federal agency for evidence.")
    doc.add_paragraph("{%p endif %}")
    touhy_unverified_note(doc)
    _offences(doc)
    return doc


PACKET_SECTIONS = [
    "Cover memo",
    "Incident summary",
    "Incident timeline",
    "Department members",
    "Federal personnel",
    "People involved",
    "Statements",
    "Recordings",
    "Alleged offences",
    "Immunity analysis",
    "Supplementary reports",
    "Corrections",
    "Evidence inventory",
    "Chain of custody",
    "Decision chain",
    "Exhibits",
    "Appendix: processing history",
]


def _bullets(doc, loop: str, text: str = "{{ line }}") -> None:
    doc.add_paragraph("{%p for " + loop + " %}")
    doc.add_paragraph(text, style="List Bullet")
    doc.add_paragraph("{%p endfor %}")


def _cover(doc, heading: str) -> None:
    """The cover memo's first half page: what happened, who is referred for what, who is held back and why, who
    reviewed and approved, the Touhy requests, and, for a later version, what changed."""
    doc.add_heading(heading, level=2)
    for line in (
        "To: {{ prosecutor.name }}, {{ prosecutor.unit }}, {{ prosecutor.address }}",
        "From: {{ department }}",
        "Date: {{ generated_at }}",
        "Re: case {{ case_number }}, {{ event_word }} {{ event_number }}; referral version {{ version }}",
    ):
        # A memo's heading block, close set; a line's space after the last.
        doc.add_paragraph(line).paragraph_format.space_after = Pt(0) if line[:3] != "Re:" else None
    doc.add_paragraph(
        "What happened: {{ occurred_at }} at {{ location }} ({{ district_word }} {{ district }}{{ district_name }}). "
        "{{ summary }}"
    )
    doc.add_paragraph("Referred for charging review:").runs[0].bold = True
    _bullets(doc, "line in referred")
    doc.add_paragraph("{%p if held %}")
    doc.add_paragraph("Held back, not referred in this version:").runs[0].bold = True
    _bullets(doc, "line in held")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{{ review_line }}")
    doc.add_paragraph("{%p if touhy %}")
    doc.add_paragraph("Touhy requests for federally held evidence:").runs[0].bold = True
    _bullets(doc, "line in touhy")
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("No Touhy request was made: the review asks no federal agency for records.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if supersedes %}")
    doc.add_paragraph("This version {{ version }} supersedes {{ supersedes }}. What changed since:").runs[0].bold = True
    _bullets(doc, "line in changes")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph(
        "{{ department }} refers the incident involving federal agents described in this packet for independent "
        "charging review. This packet was prepared from the department's case records as they stood on "
        "{{ generated_at }}; each document and evidence file it lists is identified by its SHA-256, and the "
        "decision chain records who decided what, when."
    )
    doc.add_paragraph("{%p if has_contacts %}")
    doc.add_paragraph(
        "The contact details of the people involved are not in this packet: they are on the "
        "confidential contact sheet, which the prosecutor liaison provides."
    )
    doc.add_paragraph("{%p endif %}")


def referral_packet():
    doc = _base("Referral packet")
    heading = iter(f"{n}. {title}" for n, title in enumerate(PACKET_SECTIONS, 1))
    _cover(doc, next(heading))  # first: what the prosecutor reads before anything else
    _contents(doc, PACKET_SECTIONS)
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph(
        "{{ occurred_at }} at {{ location }} ({{ district_word }} {{ district }}{{ district_name }}). {{ summary }}"
    )
    doc.add_paragraph("Injuries: {{ injuries }}. EMS called: {{ ems_called }}.")
    doc.add_heading("Narrative", level=3)
    _paragraphs(doc, "p in narrative", "{{ p }}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph(
        "What happened, in the order it happened, in the department's local time: the incident, the recordings, the statements, "
        "the evidence collected and the federal supervisor's identification, each with its exhibit."
    )
    _log(doc, "t in timeline", "{{ t.at }}", "{{ t.what }}", 1.7)
    doc.add_heading(next(heading), level=2)
    _table(doc, ["Name", "{{ Badge }}"], "o in officers", ["{{ o.name }}", "{{ o.star }}"], [4.5, 2.0])
    doc.add_heading(next(heading), level=2)
    _table(
        doc,
        ["Agency", "Name", "Badge", "Description"],
        "f in federal_personnel",
        ["{{ f.agency }}", "{{ f.name }}", "{{ f.badge }}", "{{ f.description }}"],
        [0.9, 1.6, 1.0, 3.0],
    )
    doc.add_heading("Supervisor on scene", level=3)
    doc.add_paragraph("{{ supervisor }}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph("{%p if people %}")
    _table(
        doc,
        ["Id", "Part", "Name", "Language", "Injuries and care", "Contact"],
        "x in people",
        ["{{ x.id }}", "{{ x.part }}", "{{ x.name }}", "{{ x.language }}", "{{ x.injuries }}", "{{ x.contact }}"],
        [0.4, 0.9, 1.3, 0.9, 1.8, 1.2],
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("No people involved are recorded.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph("{%p for st in statements %}")
    doc.add_heading("{{ st.title }}", level=3)
    doc.add_paragraph("{{ st.taken }}").runs[0].italic = True
    doc.add_paragraph("{%p for p in st.text %}")
    doc.add_paragraph("{{ p }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not statements %}")
    doc.add_paragraph("No statements are recorded.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading(next(heading), level=2)
    _table(
        doc,
        ["Camera", "Officer ({{ badge }})", "Recorded", "Flags", "Hold reference", "Held until", "Purge date"],
        "r in recordings",
        [
            "{{ r.camera_id }}",
            "{{ r.officer }}",
            "{{ r.started_at }} to {{ r.ended_at }}",
            "{{ r.flag_reasons }}",
            "{{ r.hold }}",
            "{{ r.retained_until }}",
            "{{ r.purge_at }}",
        ],
        [0.85, 1.0, 1.05, 0.95, 1.15, 0.75, 0.75],
    )
    doc.add_paragraph(
        "Purge date: the day the recording is destroyed under {{ retention_law }} unless held. Held until: the day "
        "its hold keeps it to."
    )
    _offences(doc, next(heading))
    _analysis(doc, next(heading))
    doc.add_heading("Rationale", level=3)
    _paragraphs(doc, "p in rationale", "{{ p }}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph("{%p for sup in supplements %}")
    doc.add_heading("{{ sup.title }}", level=3)
    doc.add_paragraph("{%p for p in sup.narrative %}")
    doc.add_paragraph("{{ p }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{{ sup.added }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not supplements %}")
    doc.add_paragraph("No supplementary reports were filed.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph("{%p if corrections %}")
    doc.add_paragraph(
        "Facts as filed that a supplementary report corrected; the rest of this packet shows the corrected values."
    )
    _table(
        doc,
        ["Field", "As filed", "Corrected to", "Reason", "By, when"],
        "c in corrections",
        ["{{ c.field }}", "{{ c.old }}", "{{ c.new }}", "{{ c.reason }}", "{{ c.by }}"],
        [1.1, 1.3, 1.3, 1.4, 1.4],
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Nothing filed has been corrected.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph("{%p if evidence %}")
    doc.add_paragraph(
        "Every evidence item of the case besides the recordings above. Files are not attached: the "
        "prosecutor liaison downloads each through the department's desk and checks its SHA-256 "
        "against this list."
    )
    doc.add_paragraph("{%p for x in evidence %}")
    doc.add_paragraph("{{ x.number }}  {{ x.item }}").runs[0].bold = True
    doc.add_paragraph("Source: {{ x.source }}. Collected by {{ x.collected }}. File: {{ x.stored }}.")
    doc.add_paragraph("{%p if x.sha256 %}")
    doc.add_paragraph("SHA-256 {{ x.sha256 }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if x.removed %}")
    doc.add_paragraph("{{ x.removed }}").runs[0].italic = True
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("No evidence items besides the recordings.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph("{%p if custody %}")
    doc.add_paragraph("Each item's chain, one line an event: when, what was done, and by whom.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p for c in custody %}")
    doc.add_heading("{{ c.title }}", level=3)
    _log(doc, "e in c.events", "{{ e.at }}", "{{ e.what }} — {{ e.by }}", 1.7)
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if not custody %}")
    doc.add_paragraph("No evidence items, so no chain of custody to show.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading(next(heading), level=2)
    _table(
        doc,
        ["Step", "Name", "Role", "Decision", "Time"],
        "d in decisions",
        ["{{ d.step }}", "{{ d.name }}", "{{ d.role }}", "{{ d.decision }}", "{{ d.at }}"],
        [1.1, 1.4, 1.0, 1.4, 1.6],
    )
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph(
        "Every exhibit by its key, the same in every version of this referral: A body-worn camera recordings, "
        "B the department's documents, C evidence items, S statements (S2.1 is P2's first), T Touhy requests."
    )
    _log(doc, "x in exhibits", "{{ x.label }}", "{{ x.description }}", 0.7, "{{ x.detail }}")
    doc.add_heading(next(heading), level=2)
    doc.add_paragraph(
        "Who did what in the department's system, from the audit trail. Entries recording a document's "
        "generation ({{ documents_generated }}) are left out: the documents are exhibits B."
    )
    _log(doc, "e in history", "{{ e.at }}", "{{ e.what }} — {{ e.by }}", 1.7)
    return doc


def _touhy_letter(doc) -> None:
    """`_base`'s page as a letter's: single-spaced, the letterhead centred, and no title heading (a letter opens
    with its date)."""
    normal = doc.styles["Normal"].paragraph_format
    normal.space_after, normal.line_spacing = Pt(6), 1.0
    body = list(doc.paragraphs)
    title = next(p for p in body if p.style.name.startswith("Heading"))
    for paragraph in body[: body.index(title)]:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
    title._p.getparent().remove(title._p)
    doc.add_paragraph().paragraph_format.space_after = Pt(6)


def _touhy_lines(doc, loop: str, *runs: str, hanging: bool = False, bold: bool = False, blank: bool = True) -> None:
    """One single-spaced line per item (an address, the "Re:" lines, the copies), and a blank line after them
    (`blank`); `hanging`: a label, a tab, then the text, the text's lines aligned half an inch in."""
    doc.add_paragraph("{%p for " + loop + " %}")
    line = doc.add_paragraph()
    line.paragraph_format.space_after, line.paragraph_format.keep_with_next = Pt(0), not blank
    if hanging:
        line.paragraph_format.left_indent, line.paragraph_format.first_line_indent = Inches(0.5), Inches(-0.5)
        line.paragraph_format.tab_stops.add_tab_stop(Inches(0.5))
    for n, text in enumerate(runs):
        if n:
            line.add_run().add_tab()
        line.add_run(text).bold = bold
    doc.add_paragraph("{%p endfor %}")
    if blank:
        doc.add_paragraph().paragraph_format.space_after = Pt(0)


def _touhy_heading(doc, text: str) -> None:
    """A letter's run-in heading: bold, in the body's font, kept with what follows."""
    heading = doc.add_paragraph()
    heading.add_run(text).bold = True
    heading.paragraph_format.keep_with_next = True
    heading.paragraph_format.space_before, heading.paragraph_format.space_after = Pt(12), Pt(3)


def touhy_request():
    """A request under the agency's Touhy regulation, laid out as a department's letter: the letterhead, the date,
    the office addressed (its address once verified), the matter, each record or testimony sought with its
    relevance, the reply asked for by a date, the signature block of the official the policy names, and the
    copies. The department edits the wording here, in Word."""
    doc = _base("Request under {{ regulation }}")
    _touhy_letter(doc)
    doc.add_paragraph("{{ letter_date }}").paragraph_format.space_after = Pt(12)
    _touhy_lines(doc, "line in addressee", "{{ line }}")
    _touhy_lines(doc, "line in re", "{% if loop.first %}Re:{% endif %}", "{{ line }}", hanging=True, bold=True)
    doc.add_paragraph("Dear Counsel:")
    doc.add_paragraph(
        "The {{ department }} asks {{ the_agency }} to produce the {{ sought }} described below, for use in a state "
        "criminal proceeding. This request is made under {{ regulation }}. As {{ relevance_rule }} asks, it sets "
        "out in writing, as specifically as we can, the nature of each item sought and its relevance to the "
        "proceeding."
    )
    _touhy_heading(doc, "The matter")
    _paragraphs(doc, "p in matter", "{{ p }}")
    _touhy_heading(doc, "What is requested, and the relevance of each item")
    _table(
        doc,
        ["No.", "Kind", "Records or testimony requested", "Relevance to the proceeding"],
        "r in records",
        ["{{ r.number }}", "{{ r.kind }}", "{{ r.description }}", "{{ r.relevance }}"],
        [0.4, 1.1, 2.5, 2.5],
    )
    doc.add_paragraph("{%p if testimony %}")
    doc.add_paragraph(
        "Testimony is requested only on the matters listed above. Please tell us which employees the agency "
        "authorizes to testify, and on which of those matters."
    )
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph(
        "Please reply by {{ due }}, producing the {{ sought }} or stating, for each item withheld, the ground on "
        "which it is withheld. If the agency would produce an item on conditions, such as a protective order or "
        "redactions, please say so, and we will take them up with the prosecutor. Please address the reply to the "
        "undersigned at the {{ department }}, {{ department_address }}, quoting case {{ case_number }} and request "
        "{{ request_id }}."
    )
    reply = doc.paragraphs[-1].paragraph_format
    reply.space_before, reply.keep_with_next = Pt(12), True  # (its last lines go with the signature, never alone)
    # The closing, the signature block and the copies: one paragraph each, never split, kept together (LibreOffice
    # does not always keep a chain of paragraphs with the next, and a signature alone on a page is sent back).
    closing = doc.add_paragraph()
    closing.add_run(
        "Sincerely,\n\n\n{% if signatory.named %}{{ signatory.block }}{% else %}______________________________\n"
        "Name and title of the signing official, {{ department }}{% endif %}"
    )
    closing.paragraph_format.keep_together = closing.paragraph_format.keep_with_next = True
    doc.add_paragraph("{%p if cc %}")
    copies = doc.add_paragraph()
    copies.paragraph_format.keep_together = True
    copies.paragraph_format.tab_stops.add_tab_stop(Inches(0.5))
    copies.add_run("cc:")
    copies.add_run().add_tab()
    copies.add_run("{{ cc }}")
    doc.add_paragraph("{%p endif %}")
    return doc


def touhy_unverified_note(doc) -> None:
    """The legal review memo's note on what its Touhy letters leave out until the department verifies it (context
    key `touhy_unverified`, from referrals/documents/memo.py): call it after the memo's table of Touhy requests."""
    doc.add_paragraph("{%p if touhy_unverified %}")
    note = doc.add_paragraph()
    note.add_run("Before the letters are sent: ").bold = True
    note.add_run("what the policy has not verified stays out of the letters, for the reviewer to confirm.")
    doc.add_paragraph("{%p for line in touhy_unverified %}")
    doc.add_paragraph("{{ line }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endif %}")


def contact_sheet():
    doc = _base("CONFIDENTIAL: contact sheet for the prosecutor")
    doc.add_paragraph(
        "Case {{ case_number }}{% if prosecutor_case_number %} · prosecutor's case {{ prosecutor_case_number }}"
        "{% endif %} · {{ event_word }} {{ event_number }} · {{ generated_at }}."
    )
    doc.add_paragraph(
        "How to reach the people involved in this referral. Need-to-know: it is not part of the "
        "referral packet; keep it apart from it and do not copy it into any filing open to the "
        "public or to the defence without the protections the law gives victims and witnesses."
    )
    _table(
        doc,
        ["Person", "Language", "Contact"],
        "x in people",
        ["{{ x.person }}", "{{ x.language }}", "{%p for line in x.contact %}\n{{ line }}\n{%p endfor %}"],
        [2.0, 1.6, 2.9],  # the language by name: "Spanish, through an interpreter"
    )
    return doc


def main(out: Path = OUT) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for build in (
        preservation_request,
        hold_confirmation,
        legal_review_memo,
        referral_packet,
        contact_sheet,
        touhy_request,
    ):
        path = out / f"{build.__name__}.docx"
        build().save(path)
        slim(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
