"""The audit package as a document: HTML from a Jinja2 template, PDF from that HTML with
WeasyPrint (fonts from the system; nothing is fetched)."""

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


def package_pdf(package: AuditPackage) -> bytes:
    from weasyprint import HTML  # heavy: loaded only when a PDF is asked for

    return HTML(string=package_html(package)).write_pdf()
