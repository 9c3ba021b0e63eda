"""The support matrix's tooling and what it publishes: the package
metadata, the constraints files, tools/matrix.py and the support table
of the documentation."""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EXT = os.path.join(ROOT, 'doc', 'source', '_ext', 'cinderlib_matrix.py')
COMMITTED_RESULTS = os.path.join(ROOT, 'doc', 'source', '_generated',
                                 'matrix.json')


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


matrix = _module('cinderlib_matrix_tool',
                 os.path.join(ROOT, 'tools', 'matrix.py'))
support = _module('cinderlib_matrix_ext', EXT)


def _pyproject():
    with open(os.path.join(ROOT, 'pyproject.toml'), encoding='utf-8') as f:
        return f.read()


def _pins(release):
    pins = {}
    with open(matrix.constraints_file(release), encoding='utf-8') as stream:
        for line in stream:
            match = re.match(r'([A-Za-z0-9_.\-]+)==([^ ;]+)', line)
            if match:
                pins.setdefault(match[1].lower(), match[2])
    return pins


def test_metadata_says_what_the_matrix_tests():
    text = _pyproject()
    releases = [r.cinder for r in matrix.RELEASES]
    assert f'"cinder>={min(releases)}.0.0,<{max(releases) + 1}"' in text
    pythons = sorted({p for r in matrix.RELEASES for p in r.pythons})
    assert f'requires-python = ">={pythons[0]}"' in text
    for python in pythons:
        assert f'"Programming Language :: Python :: {python}"' in text
    assert 'license = "Apache-2.0"' in text
    assert 'License ::' not in text  # SPDX instead of classifiers


@pytest.mark.parametrize('release', matrix.RELEASES,
                         ids=lambda r: f'cinder{r.cinder}')
def test_constraints_pin_the_release_and_a_brick_in_range(release):
    pins = _pins(release.cinder)
    assert pins['cinder'].split('.')[0] == str(release.cinder)
    low, high = re.search(r'"os-brick>=([\d.]+),<(\d+)"',
                          _pyproject()).groups()
    brick = tuple(int(part) for part in pins['os-brick'].split('.'))
    assert tuple(int(part) for part in low.split('.')) <= brick
    assert brick[0] < int(high)
    for name in ('sqlalchemy', 'alembic', 'oslo.versionedobjects', 'tooz',
                 'eventlet', 'pytest'):
        assert name in pins, name
    assert 'cinderlib' not in pins


def test_a_missing_interpreter_fails_naming_the_cell(tmp_path):
    env = dict(os.environ, CINDERLIB_PYTHON3_10=str(tmp_path / 'none'),
               PYENV_ROOT=str(tmp_path), PATH='/usr/bin:/bin')
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'matrix.py'), 'run',
         '--cells', 'py310-cinder27', '--results',
         str(tmp_path / 'results.json')],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert 'py310-cinder27: Python 3.10 not found' in done.stderr
    assert not (tmp_path / 'results.json').exists()


def test_unknown_cells_are_refused():
    with pytest.raises(SystemExit, match="no cell 'py39-cinder27'"):
        matrix.select_cells('py39-cinder27')


def test_cells_are_the_releases_pythons():
    names = [cell.name for cell in matrix.all_cells()]
    assert 'py310-cinder27' in names and 'py313-cinder29' in names
    assert 'py310-cinder29' not in names  # Cinder 29 needs 3.11
    assert matrix.MAIN_CELL in names


def test_quick_cells_cover_every_release_and_python():
    by_name = {cell.name: cell for cell in matrix.all_cells()}
    quick = [by_name[name] for name in matrix.QUICK_CELLS]
    assert quick[0].name == matrix.MAIN_CELL
    assert {cell.release.cinder for cell in quick} == {
        release.cinder for release in matrix.RELEASES}
    assert {cell.python for cell in quick} == {
        cell.python for cell in by_name.values()}


def test_ci_runs_every_cell_and_the_page_says_so():
    with open(os.path.join(ROOT, 'tools', 'test.sh'),
              encoding='utf-8') as stream:
        test_sh = stream.read()
    run = re.search(r'^\.venv/bin/python tools/matrix\.py run (.*?) -- ',
                    test_sh.replace('\\\n', ' '), re.M)
    assert run and '--main-venv' in run[1]
    assert '--quick' not in run[1] and '--cells' not in run[1]
    with open(os.path.join(ROOT, 'doc', 'source', 'support.rst'),
              encoding='utf-8') as stream:
        text = stream.read()
    section = ' '.join(text[text.index('What CI runs'):
                            text.index('Where the releases differ')].split())
    assert 'runs every cell' in section
    named = set(re.findall(r'``(py\d+-cinder\d+)``', section))
    assert named == set(matrix.QUICK_CELLS)


def test_a_partial_run_leaves_the_committed_results_alone(tmp_path):
    env = dict(os.environ, CINDERLIB_PYTHON3_10=str(tmp_path / 'none'),
               PYENV_ROOT=str(tmp_path), PATH='/usr/bin:/bin')
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'matrix.py'), 'run',
         '--quick', '--cells', 'py310-cinder27'],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and 'not allowed with' in done.stderr
    every = matrix.all_cells()
    assert matrix.results_file(None, every) == COMMITTED_RESULTS
    quick = matrix.select_cells(','.join(matrix.QUICK_CELLS))
    assert matrix.results_file(None, quick) == os.path.join(
        ROOT, 'doc', 'build', 'matrix.json')
    assert matrix.results_file('m.json', every) == os.path.abspath('m.json')


def test_the_committed_results_cover_every_cell():
    results = support.load_results(COMMITTED_RESULTS)
    cells = {cell['cell']: cell for cell in results['cells']}
    assert set(cells) == {cell.name for cell in matrix.all_cells()}
    support.check_complete(results)
    for cell in cells.values():
        assert cell['passed'] > 0 and cell['seconds'] > 0
        assert cell['cinder'].split('.')[0] == str(cell['cinder_release'])
    assert cells[matrix.MAIN_CELL]['suite'] == 'full'


def _results(cells):
    return {'date': '2026-01-01', 'commit': 'abc1234', 'total_seconds': 600,
            'releases': [{'cinder': 27, 'series': '2025.2',
                          'pythons': ['3.10', '3.11']},
                         {'cinder': 29, 'series': '2026.2',
                          'pythons': ['3.11']}],
            'cells': cells}


def _cell(release, python, status='passed', passed=5):
    return {'cell': f'py{python.replace(".", "")}-cinder{release}',
            'cinder_release': release, 'python_series': python,
            'status': status, 'passed': passed, 'failed': 0, 'errors': 0,
            'skipped': 1, 'seconds': 12.5, 'python': f'{python}.1',
            'cinder': f'{release}.0.0', 'os-brick': '7.0.0',
            'sqlalchemy': '2.0.44', 'suite': 'unit+persistence'}


def test_the_support_table_is_made_from_the_results():
    lines = support.support_matrix_rst(_results([
        _cell(27, '3.10'), _cell(27, '3.11', status='failed'),
        _cell(29, '3.11', passed=700)]))
    text = '\n'.join(lines)
    assert 'on 2026-01-01 (commit ``abc1234``), 10 minutes' in text
    table = text[:text.index('The cells')]
    rows = [[cell.strip() for cell in row.split('\n     - ')]
            for row in table.split('   * - ')[1:]]
    assert rows[0][1:] == [
        'Python 3.10', 'Python 3.11', 'Python 3.12', 'Python 3.13']
    assert rows[1] == [
        '27 (2025.2)', 'passed (5 tests)', '**failed**',
        'unsupported by this Cinder', 'unsupported by this Cinder']
    assert rows[2][:3] == [
        '29 (2026.2)', 'unsupported by this Cinder', 'passed (700 tests)']
    assert '``py310-cinder27``' in text and '2.0.44' in text


def test_results_without_every_cell_are_refused():
    results = _results([_cell(27, '3.10'), _cell(29, '3.11')])
    assert 'not run' in '\n'.join(support.support_table_rst(results))
    with pytest.raises(support.BadResults, match='no results for '
                       'py311-cinder27: the results of a partial run'):
        support.check_complete(results)


def test_bad_results_files_are_named(tmp_path):
    with pytest.raises(support.BadResults, match='missing.json'):
        support.load_results(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'cells': {}}))
    with pytest.raises(support.BadResults, match='not a results file'):
        support.load_results(str(bad))
