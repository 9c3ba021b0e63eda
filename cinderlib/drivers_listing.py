"""``list_supported_drivers``: every volume driver in the installed Cinder.

Listing imports every driver module, which costs time and memory and leaves
modules and option registrations behind; so the listing runs in a child
Python process and only its result comes back.

The child must not run code planted where the caller happens to be: it runs
isolated (``python -I``: no ``PYTHON*`` variables, no working directory on
its path) in a private temporary directory, with the caller's import path
minus the caller's working directory, and loads cinderlib from where the
caller loaded it (a source tree works too).  Its result keeps the Python
types of the retired library's format (oslo.config types, ``DeprecatedOpt``
...), so it comes back pickled, and is unpickled allowing only those types.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import types
from typing import Any, cast

from cinderlib import exception
from cinderlib.cinder import listing as cinder_listing

# Seconds a listing may take (importing every driver takes a few).
TIMEOUT = 600

_CHILD_CODE = '''
import importlib.util, json, os, sys
path, package_dir, version = json.loads(sys.argv[1])
sys.path[:] = path
spec = importlib.util.spec_from_file_location(
    'cinderlib', os.path.join(package_dir, '__init__.py'),
    submodule_search_locations=[package_dir])
cinderlib = importlib.util.module_from_spec(spec)
sys.modules['cinderlib'] = cinderlib
spec.loader.exec_module(cinderlib)
from cinderlib import drivers_listing
drivers_listing.child_main(version)
'''

# What a listing may hold besides plain containers and scalars.
_ALLOWED_GLOBALS = {
    ('builtins', name) for name in (
        'bool', 'bytes', 'complex', 'dict', 'float', 'frozenset', 'int',
        'list', 'set', 'str', 'tuple')} | {
    ('collections', 'OrderedDict'),
    ('re', '_compile'),
    ('oslo_config.cfg', 'DeprecatedOpt'),
    (__name__, '_oslo_type_method'),
}


def list_supported_drivers(
        output_version: int = 1) -> dict[str, dict[str, Any]]:
    """``{class_name: {version, class_name, supported, ci_wiki_name,
    driver_options, class_fqn, desc}}`` for every installed driver.

    In ``driver_options``, version 1 gives each option's attributes as
    strings; version 2 keeps their Python types, and its ``type`` is a
    dict of the option type's attributes plus ``type_class``, the oslo.config
    type itself (callable to convert a value).
    """
    if output_version not in (1, 2) or isinstance(output_version, bool):
        raise ValueError(f'output_version must be 1 or 2, got '
                         f'{output_version!r}')
    # This module's directory: the cinderlib package's.
    package_dir = os.path.dirname(os.path.abspath(__file__))
    argument = json.dumps([_import_path(), package_dir, output_version])
    with tempfile.TemporaryDirectory(prefix='cinderlib-drivers-') as workdir:
        try:
            child = subprocess.run(
                [sys.executable, '-I', '-W', 'ignore', '-c', _CHILD_CODE,
                 argument], cwd=workdir, capture_output=True,
                stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise exception.CinderlibError(
                f'listing drivers failed: no answer in {TIMEOUT} s') from None
    if child.returncode != 0:
        raise exception.CinderlibError(
            f'listing drivers failed: {_last_line(child.stderr)}')
    try:
        return cast('dict[str, dict[str, Any]]', load(child.stdout))
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise exception.CinderlibError(
            f'listing drivers failed: unreadable result ({exc})') from None


def _import_path() -> list[str]:
    """This process's import path without its working directory."""
    cwd = os.path.realpath(os.getcwd())
    return [entry for entry in sys.path
            if entry and os.path.isabs(entry) and
            os.path.realpath(entry) != cwd]


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors='replace').strip().splitlines()
    return lines[-1].strip() if lines else 'the child process failed'


def child_main(output_version: int) -> None:
    """The child's side: list, then write the pickled result to stdout.

    Driver modules may print when imported: the real stdout is kept for
    the result and everything else goes to stderr.
    """
    result_fd = os.dup(1)
    os.dup2(2, 1)
    drivers = cinder_listing.list_supported_drivers_in_this_process(
        output_version)
    with os.fdopen(result_fd, 'wb') as result:
        result.write(dump(drivers))


def dump(drivers: dict[str, Any]) -> bytes:
    """Pickle a listing; a value ``load`` would refuse becomes its ``str``."""
    return _dumps({name: _loadable(info) for name, info in drivers.items()})


def _loadable(value: Any) -> Any:
    try:
        load(_dumps(value))
        return value
    except Exception:  # not picklable, or a type load refuses
        if isinstance(value, dict):
            return {key: _loadable(item) for key, item in value.items()}
        if type(value) in (list, tuple):
            return type(value)(_loadable(item) for item in value)
        return str(value)


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _ListingPickler(buffer).dump(value)
    return buffer.getvalue()


class _ListingPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # Some oslo.config types hold one of their own methods (IPAddress
        # its version checker): sent as the type and the method's name.
        if isinstance(obj, types.MethodType) and _is_oslo_type_instance(
                obj.__self__):
            return _oslo_type_method, (obj.__self__, obj.__name__)
        return NotImplemented


def _oslo_type_method(type_obj: Any, name: str) -> Any:
    method = getattr(type(type_obj), name, None)
    if (not _is_oslo_type_instance(type_obj) or name.startswith('__') or
            not inspect.isfunction(method)):
        raise pickle.UnpicklingError(
            f'{name!r} is not a method of an oslo.config type')
    return getattr(type_obj, name)


def load(data: bytes) -> Any:
    """Unpickle a listing, refusing any type a listing does not hold."""
    return _ListingUnpickler(io.BytesIO(data)).load()


class _ListingUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or _is_oslo_type(module, name):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{module}.{name} is not allowed in a driver listing')


def _is_oslo_type(module: str, name: str) -> bool:
    if module != 'oslo_config.types':
        return False
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import types as oslo_types
    found = getattr(oslo_types, name, None)
    return isinstance(found, type) and issubclass(found,
                                                  oslo_types.ConfigType)


def _is_oslo_type_instance(obj: Any) -> bool:
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import types as oslo_types
    return isinstance(obj, oslo_types.ConfigType)
