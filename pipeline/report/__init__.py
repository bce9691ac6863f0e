"""The finance report: one self-contained HTML page per month and its statement workbook.

Reads the finance views (sql/views) read-only; knows nothing of HTTP or Dagster.
"""

from pipeline.report.build import ReportError, ReportFiles, build_report

__all__ = ["ReportError", "ReportFiles", "build_report"]
