"""The architecture, checked: dependencies point downward, only
``cinderlib/cinder/`` imports Cinder, every function-local import says why
it is lazy, and the order modules are imported in does not matter.

Every import statement of every module counts: top-level, function-local
and ``TYPE_CHECKING`` ones alike (doc/source/architecture.rst draws the
layers).
"""

import ast
import importlib.util
import os
import pathlib
import random
import subprocess
import sys

import pytest

# The package under test: the source tree's, or the installed wheel's
# (tools/check-package.sh runs the unit tests on the wheel).
PACKAGE = pathlib.Path(importlib.util.find_spec('cinderlib').origin).parent

# The layers, bottom first; a module may import modules of its own layer
# or of the layers below.  The longest matching prefix places a module.
LAYERS = [
    ['cinderlib.exception'],
    ['cinderlib.validation', 'cinderlib.directories', 'cinderlib.logs',
     'cinderlib.progress', 'cinderlib.jsontext', 'cinderlib.conf_convert',
     'cinderlib.datacopy'],
    ['cinderlib._runtime'],
    ['cinderlib.states', 'cinderlib.locks', 'cinderlib.cinder',
     'cinderlib.connectors'],
    ['cinderlib.objects'],
    ['cinderlib.serialization', 'cinderlib.persistence',
     'cinderlib.recovery', 'cinderlib.drivers_listing'],
    ['cinderlib.backend'],
    ['cinderlib'],  # the public API: cinderlib/__init__.py
    ['cinderlib.cli', 'cinderlib.demo', 'cinderlib.persistence.testing',
     'cinderlib.__main__'],
]
# A Cinder volume driver, loaded by Cinder by its dotted path: outside the
# layers, it imports nothing of cinderlib and nothing imports it.
DRIVERS = 'cinderlib.drivers'
# The modules that may import Cinder: the glue package, the embedded
# driver, and the exceptions Cinder's own classes are re-exported from
# (resolved by name on first use, see cinderlib/exception.py).
CINDER_IMPORTERS = ('cinderlib.cinder', DRIVERS, 'cinderlib.exception')


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob('*.py')
           if '__pycache__' not in path.parts}


def _within(name, prefix):
    return name == prefix or name.startswith(prefix + '.')


def layer(name):
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if _within(name, prefix) and (
                    best is None or len(prefix) > len(best[1])):
                best = (rank, prefix)
    return None if best is None else best[0]


API = layer('cinderlib')


def _imports(name):
    """``(line, imported module, statement)`` of every import of a module;
    ``from package import module`` gives the module."""
    path = MODULES[name]
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, node
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ''
            if node.level:
                base = package.rsplit('.', node.level - 1)[0]
                module = f'{base}.{module}' if module else base
            for alias in node.names:
                candidate = f'{module}.{alias.name}'
                yield node.lineno, (candidate if candidate in MODULES
                                    else module), node


def _cinder_module_calls(name):
    """``import_module('cinder...')`` calls: imports too."""
    tree = ast.parse(MODULES[name].read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.args and
                isinstance(node.args[0], ast.Constant) and
                isinstance(node.args[0].value, str) and
                getattr(node.func, 'attr', getattr(node.func, 'id', None))
                == 'import_module'):
            yield node.lineno, node.args[0].value


def test_every_module_has_a_layer():
    unplaced = [name for name in MODULES
                if layer(name) is None and not _within(name, DRIVERS)]
    assert unplaced == []


def test_dependencies_point_downward():
    upward = []
    for name in MODULES:
        for line, imported, _ in _imports(name):
            if not _within(imported, 'cinderlib'):
                continue
            if _within(name, DRIVERS) or _within(imported, DRIVERS):
                upward.append(f'{name}:{line} imports {imported} (the '
                              f'driver stands apart)')
            elif layer(imported) > layer(name):
                upward.append(f'{name}:{line} imports {imported}')
    assert upward == []


def test_runtime_imports_nothing_above_exception_and_validation():
    imported = {module for _, module, _ in _imports('cinderlib._runtime')
                if _within(module, 'cinderlib')}
    # (jsontext, like directories, imports nothing of cinderlib.)
    assert imported <= {'cinderlib.exception', 'cinderlib.validation',
                        'cinderlib.directories', 'cinderlib.jsontext'}


def test_only_the_cinder_package_imports_cinder():
    found = []
    for name in MODULES:
        if any(_within(name, allowed) for allowed in CINDER_IMPORTERS):
            continue
        for line, imported, _ in _imports(name):
            if _within(imported, 'cinder'):
                found.append(f'{name}:{line} imports {imported}')
        for line, imported in _cinder_module_calls(name):
            if _within(imported, 'cinder'):
                found.append(f'{name}:{line} imports {imported}')
    assert found == []


def _function_local(tree):
    """The import statements inside functions."""
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    yield node


def test_function_local_imports_say_why_they_are_lazy():
    """Imports are at the top of modules, but for the heavy or optional
    modules ``import cinderlib`` must not import (Cinder, oslo, os-brick,
    SQLAlchemy...): each says why with ``# lazy:`` on the line above (one
    comment may stand for a run of imports)."""
    silent = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in _function_local(ast.parse('\n'.join(lines))):
            index = node.lineno - 1
            while '# lazy:' not in lines[index] and (
                    lines[index - 1].lstrip().startswith(('import ',
                                                          'from '))):
                index -= 1
            if not ('# lazy:' in lines[index] or
                    lines[index - 1].lstrip().startswith('# lazy:')):
                silent.append(f'{name}:{node.lineno}')
    assert silent == []


def _import_in_order(order):
    """Import ``order``'s modules in that order, in a fresh interpreter,
    with the package's ``__init__`` not run first."""
    code = (
        'import importlib, sys, types\n'
        f'package = types.ModuleType("cinderlib")\n'
        f'package.__path__ = [{str(PACKAGE)!r}]\n'
        'sys.modules["cinderlib"] = package\n'
        f'for name in {order!r}:\n'
        '    importlib.import_module(name)\n')
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, cwd=PACKAGE.parent)


@pytest.mark.parametrize('seed', ['sorted', 'reversed', 1, 2, 3])
def test_modules_import_in_any_order(seed):
    # The public API and what is built on it import the package itself.
    names = sorted(name for name in MODULES
                   if layer(name) is not None and layer(name) < API and
                   not name.startswith('cinderlib.persistence.migrations.'))
    if seed == 'reversed':
        names.reverse()
    elif seed != 'sorted':
        random.Random(seed).shuffle(names)
    result = _import_in_order(names)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_api_imports_in_any_order(tmp_path):
    """cinderlib/__init__.py with its imports of cinderlib's modules in
    the reverse order works the same."""
    source = (PACKAGE / '__init__.py').read_text().splitlines()
    imports = [index for index, line in enumerate(source)
               if line.startswith('from cinderlib')]
    reordered = list(source)
    for index, line in zip(imports, reversed([source[i] for i in imports])):
        reordered[index] = line
    copy = tmp_path / 'cinderlib'
    copy.mkdir()
    for path in PACKAGE.iterdir():
        target = copy / path.name
        if path.name == '__init__.py':
            target.write_text('\n'.join(reordered) + '\n')
        elif path.name != '__pycache__':
            os.symlink(path, target)
    result = subprocess.run(
        [sys.executable, '-c', 'import cinderlib; cinderlib.Volume; '
         'print(cinderlib.__file__)'], capture_output=True, text=True,
        cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(copy / '__init__.py')
