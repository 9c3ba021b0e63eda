"""The documentation: its reference generated from the code, and its
examples, which run (``sphinx -b doctest``, in tools/test.sh)."""

import importlib.util
import inspect
import os
import pathlib
import re
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

import cinderlib
from cinderlib import persistence

DOC = pathlib.Path(__file__).resolve().parents[2] / 'doc' / 'source'
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
# Python examples that cannot run anywhere (a Ceph cluster, a database
# server...).  Keep it short: an example that runs is an example that works.
MAX_NOT_RUN = 6


def _load_reference():
    spec = importlib.util.spec_from_file_location(
        'cinderlib_reference', DOC / '_ext' / 'cinderlib_reference.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def _setup_parameters():
    return [name for name in inspect.signature(
        cinderlib.Backend.global_setup).parameters]


# -- setup() ------------------------------------------------------------------


def test_setup_reference_covers_every_parameter():
    entries = reference.setup_options()
    assert [e['name'] for e in entries] == _setup_parameters()
    text = '\n'.join(reference.setup_options_rst())
    for entry in entries:
        assert entry['description'].strip(), entry['name']
        assert f'``{entry["name"]}``' in text or (
            f'``**{entry["name"]}``' in text)
    assert "``root_helper`` (*str*, default ``'sudo'``)" in text
    assert '``host`` (*str or None*, default ``None``)' in text


def _global_setup_with(monkeypatch, docstring, **extra):
    """Replace global_setup by one taking also ``extra`` parameters."""
    original = inspect.signature(cinderlib.Backend.global_setup)
    params = list(original.parameters.values())
    new = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                             default=default)
           for name, default in extra.items()]
    signature = original.replace(
        parameters=[inspect.Parameter('cls',
                                      inspect.Parameter.POSITIONAL_ONLY)] +
        params[:-1] + new + params[-1:])

    def global_setup(cls, *args, **kwargs):
        """Stand-in."""
    global_setup.__signature__ = signature
    global_setup.__doc__ = docstring
    monkeypatch.setattr(cinderlib.Backend, 'global_setup',
                        classmethod(global_setup))


def test_a_setup_parameter_without_description_fails(monkeypatch):
    _global_setup_with(monkeypatch, cinderlib.Backend.global_setup.__doc__,
                       new_option=3)
    with pytest.raises(reference.UndocumentedOption, match='new_option'):
        reference.setup_options()


def test_a_description_of_no_setup_parameter_fails(monkeypatch):
    doc = cinderlib.Backend.global_setup.__doc__
    # Indented as the other fields (Python 3.13 strips docstrings' indent).
    indent = re.search(r'\n( *):param ', doc).group(1)
    doc += f'\n{indent}:param gone: Removed.\n'
    _global_setup_with(monkeypatch, doc)
    with pytest.raises(reference.UndocumentedOption, match='gone'):
        reference.setup_options()


def test_docstring_fields_are_parsed():
    summary, params = reference.parse_docstring('''Summary line,
        continued.

        More text.

        :param first: One
            and two.
        :param bool second: Typed.
        :param third:
            On the next line.
        :returns: Nothing.
        ''')
    assert summary == 'Summary line, continued.'
    assert params == {'first': 'One and two.', 'second': 'Typed.',
                      'third': 'On the next line.'}


# -- persistence plugins ------------------------------------------------------


def test_persistence_reference_covers_every_plugin():
    installed = sorted(
        ep.name for ep in metadata.entry_points(group=persistence.NAMESPACE)
        if ep.value.startswith('cinderlib.'))
    plugins = reference.persistence_plugins()
    assert sorted(p['name'] for p in plugins) == installed
    assert {'memory', 'db', 'memory_db'} <= set(installed)
    assert plugins[0]['name'] == persistence.DEFAULT_STORAGE
    text = '\n'.join(reference.persistence_plugins_rst())
    for plugin in plugins:
        expected = [name for name in inspect.signature(
            plugin['class']).parameters]
        assert [a['name'] for a in plugin['arguments']] == expected
        assert all(a['description'] for a in plugin['arguments'])
        assert f'``{plugin["name"]}`` (:class:`' in text
    by_name = {p['name']: p for p in plugins}
    assert by_name['memory']['arguments'] == []
    assert [a['name'] for a in by_name['memory_db']['arguments']] == [
        'sqlite_synchronous', 'soft_deletes']
    assert by_name['db']['arguments'][0]['default'] == 'required'


def test_a_plugin_argument_without_description_fails():
    class Store(persistence.PersistenceDriverBase):
        """A store.

        :param path: Where.
        """

        def __init__(self, path, mode='fast'):
            super().__init__()

    with pytest.raises(reference.UndocumentedOption, match='mode'):
        reference.plugin_arguments(Store, 'Store')


def test_plugin_arguments_inherit_descriptions():
    from cinderlib.persistence import dbms

    class Store(dbms.DBPersistence):
        """Fixed database."""

        def __init__(self, soft_deletes=True):
            super().__init__('sqlite://', soft_deletes=soft_deletes)

    [argument] = reference.plugin_arguments(Store, 'Store')
    assert argument['default'] == 'default ``True``'
    assert 'deleted' in argument['description']


# -- the file driver ----------------------------------------------------------


def test_file_driver_reference_covers_every_option():
    options = reference.driver_options(FILE_DRIVER)  # loads Cinder first
    from cinderlib.drivers import file
    assert [o['name'] for o in options] == [o.name for o in file.file_opts]
    assert {o['name']: (o['type'], o['default']) for o in options} == {
        'file_volumes_dir': ('string', '$state_path/cinderlib-volumes'),
        'file_use_reflink': ('boolean', True)}
    text = '\n'.join(reference.driver_options_rst(FILE_DRIVER))
    for option in file.file_opts:
        assert f'``{option.name}``' in text
        assert reference.escape(option.help.strip()) in text


def test_a_driver_option_without_help_fails():
    from oslo_config import cfg

    class Driver:
        @staticmethod
        def get_driver_options():
            return [cfg.StrOpt('documented', help='Yes.'),
                    cfg.IntOpt('undocumented', default=3)]

    with pytest.raises(reference.UndocumentedOption, match='undocumented'):
        reference.driver_options(Driver)


# -- the examples -------------------------------------------------------------


def _not_run_blocks():
    """(page, line) of the Python code blocks that do not run, failing for
    one without a ``.. Not run: REASON`` comment before it."""
    found = []
    for page in sorted(DOC.glob('*.rst')):
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines):
            if not re.match(r'\.\. code-block:: *(python|py|pycon)\s*$',
                            line):
                continue
            before = [text for text in lines[:number] if text.strip()]
            assert before and before[-1].startswith('.. Not run: '), (
                f'{page.name}:{number + 1}: a Python example that does not '
                f'run: make it a testcode/doctest block, or say why with '
                f'".. Not run: REASON" before it')
            found.append((page.name, number + 1))
    return found


def test_python_examples_run_or_say_why_not():
    not_run = _not_run_blocks()
    assert len(not_run) <= MAX_NOT_RUN, not_run


def _doctest_build(tmp_path, page):
    """Run ``sphinx -b doctest`` with this documentation's configuration on
    a one-page source tree."""
    source = tmp_path / 'source'
    source.mkdir(parents=True)
    (source / 'index.rst').write_text(textwrap.dedent(page))
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    return subprocess.run(
        [sys.executable, '-m', 'sphinx', '-q', '-b', 'doctest',
         '-c', str(DOC), str(source), str(tmp_path / 'out')],
        capture_output=True, text=True, timeout=240, env=env,
        cwd=str(DOC.parents[1]))


PAGE = '''\
    Example
    =======

    .. testcode::

        import cinderlib

        files = cinderlib.Backend(
            'files', volume_driver='{driver}', file_volumes_dir='volumes')
        print(files.create_volume(size=1).status)

    .. testoutput::

        {status}
    '''


def test_the_doctest_build_fails_on_a_broken_example(tmp_path):
    pytest.importorskip('sphinx')
    good = _doctest_build(tmp_path / 'good', PAGE.format(
        driver=FILE_DRIVER, status='available'))
    assert good.returncode == 0, good.stdout + good.stderr
    broken = _doctest_build(tmp_path / 'broken', PAGE.format(
        driver=FILE_DRIVER, status='error'))
    assert broken.returncode != 0
    assert '1 failure in tests' in (
        tmp_path / 'broken' / 'out' / 'output.txt').read_text()
