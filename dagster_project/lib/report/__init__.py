"""The customer report: one self-contained HTML page per as-of day, charts drawn as inline SVG.

`data` reads the day's analytics, ops and quarantine tables into small frames (aggregates only:
no customer key, name or address leaves the warehouse), `charts` draws each chart with
matplotlib's object API, `page` renders the page, and `build` ties them and writes the files.
"""

from dagster_project.lib.report.build import ReportFiles, build_report, write_report

__all__ = ["ReportFiles", "build_report", "write_report"]
