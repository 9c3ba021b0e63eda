"""Run the retired cinderlib's functional suite on this library.

Run in a process of its own by ``test_retired_suite.py``::

    python bootstrap.py SUITE_DIR STATE_DIR PLAN_JSON RESULTS_JSON

``SUITE_DIR`` holds the retired ``tests/functional/`` files (see
``sdist.py``).  Their imports name the retired package's modules:

- ``cinderlib.tests.functional.*``: the packages ``cinderlib.tests`` and
  ``cinderlib.tests.functional`` are loaded from ``SUITE_DIR`` and
  registered under those names, so the test code stays out of this
  library's package;
- ``cinderlib.cmd.cinder_to_yaml``: a helper of the retired suite only
  (its tool ``cinder-cfg-to-cinderlib-code`` was the public one, kept as
  ``cinderlib convert``), given here with the same ``convert()``, built on
  ``cinderlib.conf_convert``.

The suite calls ``setup()`` without a ``state_path``; as root that is
``/var/lib/cinderlib``, so the default is pointed at ``STATE_DIR``.
``PLAN_JSON`` lists the test methods to leave out; ``RESULTS_JSON``
receives ``{"collected": [...], "results": {name: [outcome, details]},
"cinderlib": the tested package's __init__.py}``.
"""

import importlib.util
import json
import os
import sys
import types
import unittest

import yaml

import cinderlib
from cinderlib import conf_convert
from cinderlib import directories


def _register_package(name, folder):
    """Load the package ``name`` from ``folder`` (its ``__init__.py``)."""
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(folder, '__init__.py'),
        submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition('.')
    setattr(sys.modules[parent], child, module)


def convert(cinder_source, yaml_dest=None):
    """The retired ``cinder_to_yaml.convert``: ``{'backends': [...]}`` from
    a cinder.conf's enabled backends, also written to ``yaml_dest``."""
    result = {'backends': conf_convert.read_cinder_conf(cinder_source)}
    if yaml_dest:
        with open(yaml_dest, 'w') as out:
            yaml.safe_dump(result, out)
    return result


def _register_cinder_to_yaml():
    package = types.ModuleType('cinderlib.cmd')
    package.__path__ = []
    module = types.ModuleType('cinderlib.cmd.cinder_to_yaml')
    module.convert = convert
    package.cinder_to_yaml = module
    sys.modules['cinderlib.cmd'] = package
    sys.modules['cinderlib.cmd.cinder_to_yaml'] = module
    cinderlib.cmd = package


class Recorder(unittest.TestResult):
    """Each test's outcome, by method name."""

    def __init__(self):
        super().__init__()
        self.outcomes = {}

    def _set(self, test, outcome, details=''):
        name = getattr(test, '_testMethodName', None) or str(test)
        self.outcomes[name] = [outcome, details]

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set(test, 'passed')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, 'failed', self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        # setUpClass/tearDownClass errors come as a _ErrorHolder.
        self._set(test, 'error', self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set(test, 'skipped', reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, 'failed', 'expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, 'passed')


def _tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _tests(item)
        else:
            yield item


def main(suite_dir, state_dir, plan_path, results_path):
    directories.ROOT_STATE_PATH = state_dir
    os.environ['XDG_STATE_HOME'] = state_dir
    _register_package('cinderlib.tests', os.path.join(suite_dir, 'tests'))
    _register_package('cinderlib.tests.functional',
                      os.path.join(suite_dir, 'tests', 'functional'))
    _register_cinder_to_yaml()
    # The retired suite, exactly as it was published.
    from cinderlib.tests.functional import test_basic

    with open(plan_path) as plan_file:
        deselect = set(json.load(plan_file)['deselect'])
    loaded = list(_tests(unittest.defaultTestLoader.loadTestsFromModule(
        test_basic)))
    collected = [test._testMethodName for test in loaded]
    suite = unittest.TestSuite(test for test in loaded
                               if test._testMethodName not in deselect)
    recorder = Recorder()
    suite.run(recorder)
    with open(results_path, 'w') as out:
        json.dump({'collected': collected, 'results': recorder.outcomes,
                   'cinderlib': cinderlib.__file__}, out)


if __name__ == '__main__':
    main(*sys.argv[1:])
