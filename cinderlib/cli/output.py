"""What a command prints: JSON, or a table for lists on a terminal."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit(output_format: str, value: Any) -> None:
    """Print ``value`` on stdout (``output_format``: auto, json, table)."""
    table = output_format == 'table' or (
        output_format == 'auto' and sys.stdout.isatty())
    if table and isinstance(value, list) and value and all(
            isinstance(row, dict) for row in value):
        _print_table(value)
    else:
        json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
        print()


def _print_table(rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    cells = [[printable(str(row.get(column, ''))) for column in columns]
             for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in cells))
              for i, column in enumerate(columns)]
    print('  '.join(c.upper().ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print('  '.join(cell.ljust(w) for cell, w in zip(row, widths)))


def printable(text: str) -> str:
    """``text`` with what is not printable (control characters such as
    ESC, line breaks, bidirectional overrides) escaped as Python writes it
    (``\\x1b``): a stored name cannot drive the terminal."""
    if text.isprintable():
        return text
    return ''.join(char if char.isprintable() else repr(char)[1:-1]
                   for char in text)
