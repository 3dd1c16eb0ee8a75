"""The access report as a spreadsheet-safe CSV and as a PDF a patient can be given (fpdf2)."""

from __future__ import annotations

import io
from typing import Any

from apps.core import spreadsheet
from apps.customers.accesses import AccessReport

CSV_COLUMNS = (
    "time (UTC)",
    "part",
    "source",
    "access",
    "event",
    "by",
    "role",
    "record",
    "request id",
    "reason",
    "note",
)


def csv_text(report: AccessReport) -> str:
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for a in report.accesses:
        writer.writerow(
            (
                a.at.isoformat(),
                a.part,
                a.source,
                a.what,
                a.event_type,
                a.actor,
                a.role,
                a.record,
                a.request_id,
                a.reason,
                a.note,
            )
        )
    return buffer.getvalue()


def _latin1(text: Any) -> str:
    """The PDF's core fonts speak Latin-1: anything else is shown as "?" rather than refused."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _lines(pdf: Any, width: float, height: float, text: str) -> None:
    """Each line as one cell, wrapped only when it is wider than the page (multi_cell is ten
    times slower: a report of thousands of accesses stays a matter of seconds)."""
    for line in _latin1(text).split("\n"):
        if pdf.get_string_width(line) <= width:
            pdf.cell(width, height, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(width, height, line, new_x="LMARGIN", new_y="NEXT")


def _period(report: AccessReport) -> str:
    since = report.since.strftime("%Y-%m-%d %H:%M UTC") if report.since else "the start of the records"
    until = report.until.strftime("%Y-%m-%d %H:%M UTC") if report.until else "now"
    return f"from {since} to {until}"


def pdf_bytes(report: AccessReport, *, generated_at: Any, generated_by: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(_latin1(f"Access report {report.user_id}"))
    pdf.set_creator("Back-office")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(width, 8, _latin1("Who accessed this person's data"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    intro = (
        f"Person: {report.user_id}\nPeriod: {_period(report)}\n"
        f"Generated {generated_at:%Y-%m-%d %H:%M} UTC by {generated_by}. "
        f"{len(report.accesses)} access(es): views, reveals, exports and actions by our staff, events "
        "recorded by the platform's services for staff, and disclosures to third parties."
    )
    pdf.multi_cell(width, 5, _latin1(intro), new_x="LMARGIN", new_y="NEXT")
    for note in report.notes:
        pdf.multi_cell(width, 5, _latin1(f"Note: {note}"), new_x="LMARGIN", new_y="NEXT")
    if not report.accesses:
        pdf.ln(4)
        pdf.multi_cell(width, 5, _latin1("No access in this period."), new_x="LMARGIN", new_y="NEXT")
    for day, accesses in report.by_day():
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        _lines(pdf, width, 6, day.isoformat())
        for a in accesses:
            pdf.set_font("Helvetica", "B", 9)
            who = f"{a.actor} ({a.role})" if a.role else a.actor
            _lines(pdf, width, 5, f"{a.at:%H:%M:%S}  {a.what}  by {who}")
            pdf.set_font("Helvetica", "", 8)
            lines = [f"{a.part}, {a.source}: {a.event_type}", f"record: {a.record}" if a.record else ""]
            if a.request_id:
                lines.append(f"request: {a.request_id}")
            if a.reason:
                lines.append(f"reason: {a.reason}")
            if a.note:
                lines.append(a.note)
            _lines(pdf, width, 4, "\n".join(x for x in lines if x))
    return bytes(pdf.output())
