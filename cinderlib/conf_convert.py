"""Turning cinder.conf backend sections into cinderlib code or config.

``cinderlib convert cinder.conf`` (and ``cinder-cfg-to-cinderlib-code``,
the name of the retired project's tool) read the sections named in
``[DEFAULT] enabled_backends`` (or those asked for) and print Python code
building each ``Backend``, or the YAML/JSON configuration that the
``cinderlib`` command and the functional test suite read.
"""

from __future__ import annotations

import configparser
import json
import keyword
import os
import re
import sys
from typing import Optional, Sequence


class ConversionError(ValueError):
    """The file cannot be read or lacks the sections asked for."""


def read_cinder_conf(path: str,
                     sections: Optional[Sequence[str]] = None
                     ) -> list[dict[str, str]]:
    """``[{'volume_backend_name': ..., option: value...}]`` per section."""
    # [DEFAULT] read as a plain section: its options must not leak into
    # the backend sections as configparser's defaults would.
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       default_section='\0none')
    # Option names are case-sensitive.  Replacing optionxform is the way
    # configparser documents; typeshed declares it a method.
    parser.optionxform = str  # type: ignore[method-assign,assignment]
    try:
        with open(path) as conf_file:
            parser.read_file(conf_file)
    except (OSError, configparser.Error) as exc:
        raise ConversionError(f'cannot read {path}: {exc}') from None
    if not sections:
        enabled = (parser.get('DEFAULT', 'enabled_backends', fallback='')
                   if parser.has_section('DEFAULT') else '')
        sections = [name.strip() for name in enabled.split(',')
                    if name.strip()]
    if not sections:
        raise ConversionError(f'{path} has no enabled_backends; name the '
                              f'sections with --section')
    backends = []
    for section in sections:
        if not parser.has_section(section):
            raise ConversionError(f'{path} has no [{section}] section')
        options = dict(parser.items(section))
        options.setdefault('volume_backend_name', section)
        backends.append(options)
    return backends


def render(backends: list[dict[str, str]], to: str) -> str:
    """The backends as ``python`` code, ``yaml`` or ``json`` config."""
    if to == 'json':
        return json.dumps({'backends': backends}, indent=2) + '\n'
    if to == 'yaml':
        # lazy: PyYAML is needed for YAML output only
        import yaml
        return yaml.safe_dump({'backends': backends}, sort_keys=False)
    return _python(backends)


def _python(backends: list[dict[str, str]]) -> str:
    """Code building the backends.  Names and values are only ever written
    as string literals (``repr``), so the code is valid and does nothing
    but build the backends, whatever the file holds."""
    lines = ['import cinderlib', '']
    used = {'cinderlib'}
    for backend in backends:
        options = dict(backend)
        name = options.pop('volume_backend_name')
        variable = _identifier(name, used)
        used.add(variable)
        lines.append(f'{variable} = cinderlib.Backend({name!r}, **{{')
        lines.extend(f'    {key!r}: {value!r},'
                     for key, value in options.items())
        lines.append('})')
        lines.append('')
    return '\n'.join(lines)


def _identifier(name: str, used: set[str]) -> str:
    """A Python variable name for a backend, unique among ``used``."""
    base = re.sub(r'[^a-z0-9_]', '_', name.lower()) or 'backend'
    if base[0].isdigit() or keyword.iskeyword(base) or (
            keyword.issoftkeyword(base)):
        base = f'backend_{base}'
    identifier, number = base, 2
    while identifier in used:
        identifier, number = f'{base}_{number}', number + 1
    return identifier


DEFAULT_SOURCE = '/etc/cinder/cinder.conf'
_USAGE = '''\
usage: cinder-cfg-to-cinderlib-code [-h] [--section S] [SOURCE [DEST]]
Write Python code creating the backends of a cinder.conf (SOURCE, default
/etc/cinder/cinder.conf) to DEST (default: standard output).  The sections
are those of [DEFAULT] enabled_backends, or those named with --section.'''


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``cinder-cfg-to-cinderlib-code [--section S]... [SOURCE [DEST]]``,
    the retired tool's arguments: SOURCE defaults to
    ``/etc/cinder/cinder.conf``, DEST to standard output."""
    args = list(sys.argv[1:] if argv is None else argv)
    sections: list[str] = []
    paths: list[str] = []
    while args:
        word = args.pop(0)
        if word in ('-h', '--help'):
            print(_USAGE)
            return 0
        if word == '--section' and args:
            sections.append(args.pop(0))
        elif word.startswith('--section='):
            sections.append(word.partition('=')[2])
        elif word.startswith('-') and word != '-':
            return _usage_error(f'unknown option {word!r}')
        else:
            paths.append(word)
    if len(paths) > 2:
        return _usage_error('takes at most SOURCE and DEST')
    source = paths[0] if paths else DEFAULT_SOURCE
    try:
        code = render(read_cinder_conf(source, sections), 'python')
    except ConversionError as exc:
        return _usage_error(str(exc))
    if len(paths) < 2 or paths[1] == '-':
        sys.stdout.write(code)
        return 0
    try:
        _write_private(paths[1], code)
    except OSError as exc:
        return _usage_error(f'cannot write {paths[1]}: {exc.strerror}')
    return 0


def _write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path``, mode 0600 (the code holds the drivers'
    passwords), never through a symbolic link planted at ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                 os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, 'w') as output:
        output.write(text)


def _usage_error(message: str) -> int:
    print(f'cinder-cfg-to-cinderlib-code: {message}', file=sys.stderr)
    return 2
