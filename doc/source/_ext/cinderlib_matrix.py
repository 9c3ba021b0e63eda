"""The support table, generated from the results of the support matrix.

``.. cinderlib-support-matrix::`` reads the results file that
``tools/matrix.py run`` writes: ``$CINDERLIB_MATRIX_RESULTS`` if set
(tools/test.sh sets it to the run it just made), else the committed
``doc/source/_generated/matrix.json``.  It renders a table of Cinder
releases by Python versions, then one row per cell with the versions
tested and the test counts.  Results without every cell (a partial run)
fail the build.  The ``*_rst`` functions return
reStructuredText lines and can be used without Sphinx.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, '..', '_generated', 'matrix.json')
PYTHONS = ('3.10', '3.11', '3.12', '3.13')


class BadResults(Exception):
    """The results file is missing or is not what tools/matrix.py writes."""


def results_path() -> str:
    return os.environ.get('CINDERLIB_MATRIX_RESULTS') or os.path.normpath(
        COMMITTED)


def load_results(path: Optional[str] = None) -> dict:
    path = path or results_path()
    try:
        with open(path, encoding='utf-8') as stream:
            results = json.load(stream)
    except (OSError, ValueError) as exc:
        raise BadResults(f'{path}: {exc}') from None
    if not (isinstance(results, dict) and
            isinstance(results.get('releases'), list) and
            isinstance(results.get('cells'), list)):
        raise BadResults(f'{path}: not a results file of tools/matrix.py')
    return results


def check_complete(results: dict) -> None:
    """Raise BadResults unless every cell of every release has a result
    (the results of ``tools/matrix.py run --cells ...`` are not)."""
    ran = {(c.get('cinder_release'), c.get('python_series'))
           for c in results['cells']}
    missing = [f'py{python.replace(".", "")}-cinder{release["cinder"]}'
               for release in results['releases']
               for python in release['pythons']
               if (release['cinder'], python) not in ran]
    if missing:
        raise BadResults(f'no results for {", ".join(missing)}: the '
                         f'results of a partial run?')


def _status(cell: Optional[dict]) -> str:
    if cell is None:
        return 'not run'
    if cell.get('status') != 'passed':
        return '**failed**'
    return f'passed ({cell["passed"]} tests)'


def support_table_rst(results: dict) -> list[str]:
    """Cinder releases by Python versions: passed, failed or unsupported."""
    cells = {(c['cinder_release'], c['python_series']): c
             for c in results['cells']}
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - Cinder'] + [f'     - Python {p}' for p in PYTHONS]
    for release in results['releases']:
        lines.append(f'   * - {release["cinder"]} ({release["series"]})')
        for python in PYTHONS:
            if python not in release['pythons']:
                lines.append('     - unsupported by this Cinder')
            else:
                cell = cells.get((release['cinder'], python))
                lines.append(f'     - {_status(cell)}')
    return lines


def cells_table_rst(results: dict) -> list[str]:
    """One row per cell: the versions tested and what ran."""
    lines = ['.. list-table::', '   :header-rows: 1', '',
             '   * - Cell', '     - Python', '     - Cinder',
             '     - os-brick', '     - SQLAlchemy', '     - Suite',
             '     - Passed', '     - Failed', '     - Skipped',
             '     - Seconds']
    for cell in results['cells']:
        failed = cell.get('failed', 0) + cell.get('errors', 0)
        lines += [f'   * - ``{cell["cell"]}``',
                  f'     - {cell.get("python", "?")}',
                  f'     - {cell.get("cinder", "?")}',
                  f'     - {cell.get("os-brick", "?")}',
                  f'     - {cell.get("sqlalchemy", "?")}',
                  f'     - {cell.get("suite", "?")}',
                  f'     - {cell.get("passed", 0)}',
                  f'     - {failed}',
                  f'     - {cell.get("skipped", 0)}',
                  f'     - {cell.get("seconds", "?")}']
    return lines


def support_matrix_rst(results: Optional[dict] = None) -> list[str]:
    results = results or load_results()
    when = (f'Results of ``tools/matrix.py run`` on {results["date"]}'
            + (f' (commit ``{results["commit"]}``)' if results.get('commit')
               else '') +
            f', {round(results.get("total_seconds", 0) / 60)} minutes in '
            f'all.')
    return ([when, ''] + support_table_rst(results) + [
        '', 'The cells, with the versions of the main dependencies they '
        'ran with (the others are in ``constraints/cinder-NN.txt``):', ''] +
        cells_table_rst(results))


# -- Sphinx -------------------------------------------------------------------


def setup(app: Any) -> dict:
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util import docutils as sphinx_docutils

    class SupportMatrix(sphinx_docutils.SphinxDirective):
        def run(self) -> list:
            path = results_path()
            try:
                results = load_results(path)
                check_complete(results)
                lines = support_matrix_rst(results)
            except BadResults as exc:
                raise self.error(f'{self.name}: {exc}')
            self.env.note_dependency(path)
            container = nodes.container()
            self.state.nested_parse(StringList(lines, source=self.name),
                                    self.content_offset, container)
            return container.children

    app.add_directive('cinderlib-support-matrix', SupportMatrix)
    return {'version': '1', 'parallel_read_safe': True,
            'parallel_write_safe': True}
