"""Reporters: a :class:`~gorc.model.Result` rendered as text, JSON or SARIF.

The CLI parses each ``-o FORMAT[=FILE]`` with :func:`parse_output_spec` and
hands the specs to :func:`write_reports`. Reporter modules (and rich) are only
imported when their format is asked for.
"""

from gorc.report.base import OutputFormat, OutputSpec, Reporter
from gorc.report.output import color_wanted, get_reporter, parse_output_spec, write_reports

__all__ = [
    "OutputFormat",
    "OutputSpec",
    "Reporter",
    "color_wanted",
    "get_reporter",
    "parse_output_spec",
    "write_reports",
]
