"""Renderers: a Report to the terminal (rich) or to a versioned JSON/YAML document."""

from .structured import load_schema, render_json, render_yaml, report_document, schema_path, validate_report
from .text import render_text

__all__ = [
    "load_schema", "render_json", "render_text", "render_yaml", "report_document", "schema_path",
    "validate_report",
]
