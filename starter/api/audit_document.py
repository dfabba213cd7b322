"""The audit package as a document: HTML from a Jinja2 template, PDF from that HTML with
WeasyPrint (fonts from the system; nothing is fetched). WeasyPrint is changeflow's `pdf` extra:
without it the PDF is refused (PdfUnavailableError, the API's 501) and the rest works."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from store.audit.package import AuditPackage

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def package_html(package: AuditPackage) -> str:
    template = _env.get_template("audit_package.html")
    return template.render(p=package, produced=f"{datetime.now(UTC):%Y-%m-%d %H:%M}")


PDF_EXTRA = "pdf"


class PdfUnavailableError(RuntimeError):
    """WeasyPrint is not installed here (or cannot load its system libraries)."""


def package_pdf(package: AuditPackage) -> bytes:
    try:
        from weasyprint import HTML  # heavy: loaded only when a PDF is asked for
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint without Pango
        raise PdfUnavailableError(
            f"the audit package as PDF needs WeasyPrint, which this API does not have: install "
            f"changeflow's {PDF_EXTRA} extra (pip install 'changeflow[{PDF_EXTRA}]'); "
            f"format=html and format=json work without it ({exc})"
        ) from exc
    return HTML(string=package_html(package)).write_pdf()
