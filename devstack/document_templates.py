"""Writes the starting Word templates under templates/documents/ (`python -m devstack.document_templates`).

Run once; afterwards the department edits the .docx files in Word. They are docxtpl templates:
Jinja2 tags in the text ({{ value }}, {%p for %} paragraphs, {%tr for %} table rows), real
Word headings and tables, the case number and the sensitivity marking in every page's header,
"Page X of Y" in every footer.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from devstack.slim_docx import slim

OUT = Path(__file__).resolve().parent.parent / "templates" / "documents"
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


def _table(doc, headers: list[str], loop: str, cells: list[str]) -> None:
    """A header row, then one row per item: docxtpl's {%tr %} rows around the data row."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    table.rows[1].cells[0].text = "{%tr for " + loop + " %}"
    for cell, text in zip(table.rows[2].cells, cells, strict=True):
        cell.text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"
    # Repeat the header row on every page the table spans.
    row_pr = table.rows[0]._tr.get_or_add_trPr()
    header_flag = OxmlElement("w:tblHeader")
    header_flag.set(qn("w:val"), "true")
    row_pr.append(header_flag)


def _paragraphs(doc, loop: str, text: str) -> None:
    doc.add_paragraph("{%p for " + loop + " %}")
    doc.add_paragraph(text)
    doc.add_paragraph("{%p endfor %}")


def _immunity(doc, title: str, source: str) -> None:
    """The two prongs of In re Neagle and the reviewer's finding."""
    doc.add_heading(title, level=2)
    doc.add_heading("Federal authority", level=3)
    _paragraphs(doc, f"p in {source}.federal_authority", "{{ p }}")
    doc.add_heading("Necessary and proper", level=3)
    _paragraphs(doc, f"p in {source}.necessary_and_proper", "{{ p }}")
    doc.add_paragraph("Finding: {{ " + source + ".finding }}.")


def _offences(doc) -> None:
    doc.add_heading("Alleged offences", level=2)
    _table(doc, ["Citation", "Offence", "Person", "Facts"], "a in allegations",
           ["{{ a.statute }}", "{{ a.title }}", "{{ a.person }}", "{{ a.facts }}"])


def preservation_request():
    doc = _base("Request to preserve body-worn camera recordings")
    doc.add_paragraph("To: the evidence custodian. From: {{ department }}. Date: {{ generated_at }}.")
    doc.add_paragraph("Case {{ case_number }} · OEMC event {{ event_number }} · District {{ district }}. "
                      "Incident of {{ occurred_at }} at {{ location }}.")
    doc.add_heading("Hold deadline", level=2)
    doc.add_paragraph("Confirm the hold on every recording below by {{ hold_deadline }}. Unflagged recordings "
                      "are destroyed {{ retention_days }} days after they were recorded (50 ILCS 706/10-20).")
    doc.add_paragraph("{%p if purge_warnings %}")
    doc.add_paragraph("URGENT: {{ purge_warnings }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading("Recordings", level=2)
    _table(doc, ["Camera", "Officer star", "Start", "End", "Purge date", "Flag reasons", "Hold reference"],
           "r in recordings", ["{{ r.camera_id }}", "{{ r.officer_star }}", "{{ r.started_at }}", "{{ r.ended_at }}",
                               "{{ r.purge_at }}", "{{ r.flag_reasons }}", "{{ r.hold }}"])
    doc.add_heading("How to confirm the hold", level=2)
    for step in ("In Axon Evidence.com, find each recording by camera and time, tag it with event {{ event_number }} "
                 "and attach it to case {{ case_number }} (or give it a retention category with no auto-delete).",
                 "Record the hold reference and the retention date of each recording in the referral system: "
                 "POST /incidents/{{ case_id }}/footage-hold, one entry per camera. Partial holds are accepted; "
                 "the task stays open until every recording is held.",
                 "Recordings you cannot find: say so to the filing officer's supervisor at once."):
        doc.add_paragraph(step, style="List Number")
    return doc


def legal_review_memo():
    doc = _base("Legal review memorandum (internal)")
    doc.add_paragraph("Case {{ case_number }} · District {{ district }} · Reviewer {{ review.by }} · "
                      "Decided {{ review.at }}.")
    doc.add_heading("Decision", level=2)
    doc.add_paragraph("Decision: {{ review.decision }}. Charges supported: {{ review.charges }}.")
    doc.add_paragraph("{%p if review.return_tasks %}")
    doc.add_paragraph("Returned for further work on: {{ review.return_tasks }}.")
    doc.add_paragraph("{%p endif %}")
    doc.add_heading("Rationale", level=2)
    _paragraphs(doc, "p in review.rationale", "{{ p }}")
    _immunity(doc, "Supremacy Clause immunity", "review")
    _offences(doc)
    return doc


def referral_packet():
    doc = _base("Referral packet")
    doc.add_heading("Cover memo", level=2)
    doc.add_paragraph("To: {{ prosecutor.name }}, {{ prosecutor.unit }}, {{ prosecutor.address }}")
    doc.add_paragraph("From: {{ department }}")
    doc.add_paragraph("Date: {{ generated_at }}")
    doc.add_paragraph("Re: case {{ case_number }}, OEMC event {{ event_number }}; referral version {{ version }}")
    doc.add_paragraph("{{ department }} refers the incident below, involving federal immigration agents, for "
                      "independent charging review. The referral was reviewed by {{ reviewer }} and approved by "
                      "{{ approver }}; the decision chain and the chronology below record who decided what, when.")
    doc.add_heading("Incident summary", level=2)
    doc.add_paragraph("{{ occurred_at }} at {{ location }} (district {{ district }}). {{ summary }}")
    doc.add_paragraph("Injuries: {{ injuries }}. EMS called: {{ ems_called }}.")
    doc.add_heading("Narrative", level=3)
    _paragraphs(doc, "p in narrative", "{{ p }}")
    doc.add_heading("CPD members", level=2)
    _table(doc, ["Name", "Star"], "o in officers", ["{{ o.name }}", "{{ o.star }}"])
    doc.add_heading("Federal personnel", level=2)
    _table(doc, ["Agency", "Name", "Badge", "Description"], "f in federal_personnel",
           ["{{ f.agency }}", "{{ f.name }}", "{{ f.badge }}", "{{ f.description }}"])
    doc.add_heading("Supervisor on scene", level=3)
    doc.add_paragraph("{{ supervisor }}")
    doc.add_heading("Recordings", level=2)
    _table(doc, ["Camera", "Officer star", "Start", "End", "Hold reference", "Retained until", "Purge date"],
           "r in recordings", ["{{ r.camera_id }}", "{{ r.officer_star }}", "{{ r.started_at }}", "{{ r.ended_at }}",
                               "{{ r.hold }}", "{{ r.retained_until }}", "{{ r.purge_at }}"])
    _offences(doc)
    doc.add_paragraph("Charges the legal reviewer supports: {{ charges }}.")
    _immunity(doc, "Immunity analysis", "immunity")
    doc.add_heading("Rationale", level=3)
    _paragraphs(doc, "p in immunity.rationale", "{{ p }}")
    doc.add_heading("Decision chain", level=2)
    _table(doc, ["Step", "Name", "Role", "Decision", "Time"], "d in decisions",
           ["{{ d.step }}", "{{ d.name }}", "{{ d.role }}", "{{ d.decision }}", "{{ d.at }}"])
    doc.add_heading("Chronology", level=2)
    _table(doc, ["Time", "Event", "By"], "e in chronology", ["{{ e.at }}", "{{ e.what }}", "{{ e.by }}"])
    doc.add_heading("Exhibits", level=2)
    _table(doc, ["Exhibit", "Description"], "x in exhibits", ["{{ x.label }}", "{{ x.description }}"])
    return doc


def main(out: Path = OUT) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for build in (preservation_request, legal_review_memo, referral_packet):
        path = out / f"{build.__name__}.docx"
        build().save(path)
        slim(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
