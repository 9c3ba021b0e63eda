"""A virtualenv with the retired cinderlib 5.2.0 and Cinder 23.5.0.

Built once by bench/compare_retired.py and cached under
``~/.cache/cinderlib-bench/``.  Cinder 23.5.0 is a stable-branch release of
OpenStack 2023.2 (Bobcat); its dependencies are resolved as pip saw the
package index on a cut-off date (``--uploaded-prior-to``, pip 26), by
default the day after cinderlib 5.2.0, the retired library's last release
(2023-11-30).  Cinder and cinderlib themselves are installed at their exact
versions, without dependencies, since Cinder 23.5.0 was uploaded after the
cut-off (2025-04-29).

On top of the date, ``ERA_CAPS`` keeps what OpenStack's own constraints for
2023.2 kept: SQLAlchemy 1.4 (Cinder 23's migrations use the branched
connections SQLAlchemy 2.0 removed, so its ``db`` plugin cannot create its
tables on SQLAlchemy 2).

pip here runs without the machine's pip configuration and without
``PIP_FIND_LINKS`` / ``PIP_EXTRA_INDEX_URL``: pip applies the cut-off only to
files from an index that publishes upload times, and takes local files and
file:// indexes as they are (local mirrors would bring today's releases).
After the install, every resolved file must have come from such an index;
the versions are written to ``bench-manifest.json`` in the venv.
"""

import email.parser
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

CINDERLIB = '5.2.0'
CINDER = '23.5.0'
DEFAULT_CUTOFF = '2023-12-01T00:00:00Z'
DEFAULT_PYTHON = '3.11'
ERA_CAPS = ['SQLAlchemy<2']
# SQLAlchemy 1.4 has no dialect for psycopg 3: this side reaches
# PostgreSQL through psycopg2 (``postgresql+psycopg2://``, as oVirt did).
EXTRAS = ['psycopg2-binary']
CACHE = os.path.join(os.path.expanduser('~'), '.cache', 'cinderlib-bench')
MANIFEST = 'bench-manifest.json'
KEY_PACKAGES = ('cinderlib', 'cinder', 'os-brick', 'oslo.db',
                'oslo.versionedobjects', 'oslo.config', 'SQLAlchemy',
                'alembic', 'eventlet', 'psycopg2-binary')


class RetiredVenvError(Exception):
    """The retired library's venv could not be built (one line)."""


def find_python(version):
    """A ``pythonX.Y`` executable: pyenv's first, then PATH."""
    for candidate in sorted(glob.glob(os.path.expanduser(
            f'~/.pyenv/versions/{version}.*/bin/python{version}')),
            reverse=True):
        return candidate
    found = shutil.which(f'python{version}')
    if not found:
        raise RetiredVenvError(
            f'no Python {version} found (pyenv or PATH); choose another '
            f'with --retired-python')
    return found


def venv_path(python_version, cutoff):
    day = cutoff[:10]
    return os.path.join(CACHE, f'retired-cinderlib{CINDERLIB}-cinder'
                               f'{CINDER}-py{python_version}-{day}')


def pip_environment():
    """This environment without pip's configuration and extra sources."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('PIP_') or key in (
               'PIP_CERT', 'PIP_DEFAULT_TIMEOUT', 'PIP_INDEX_URL')}
    env['PIP_CONFIG_FILE'] = os.devnull
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    return env


def run(command, log, what):
    log(f'  {what}')
    done = subprocess.run(command, env=pip_environment(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if done.returncode:
        tail = ' | '.join(done.stdout.strip().splitlines()[-3:])
        raise RetiredVenvError(f'{what} failed: {tail}')
    return done.stdout


def requirements(wheel):
    """Runtime Requires-Dist of a wheel, without extras and without Cinder
    (installed at its exact version)."""
    import zipfile
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist()
                    if n.endswith('.dist-info/METADATA'))
        metadata = email.parser.Parser().parsestr(
            archive.read(name).decode())
    found = []
    for requirement in metadata.get_all('Requires-Dist') or []:
        if 'extra ==' in requirement:
            continue
        if re.match(r'cinder\s*(\(|[<>=!~;]|$)', requirement):
            continue
        found.append(requirement)
    return found


def ensure(python_version=DEFAULT_PYTHON, cutoff=DEFAULT_CUTOFF,
           log=print):
    """The retired venv's python, built if missing."""
    path = venv_path(python_version, cutoff)
    python = os.path.join(path, 'bin', 'python')
    try:
        built = manifest(python)
    except (OSError, ValueError):
        built = {}
    if built.get('caps') == ERA_CAPS and built.get('extras') == EXTRAS:
        return python
    log(f'building the retired library\'s venv in {path} (once)')
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(CACHE, mode=0o700, exist_ok=True)
    try:
        build(path, python, python_version, cutoff, log)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return python


def build(path, python, python_version, cutoff, log):
    run([find_python(python_version), '-m', 'venv', path], log,
        f'python{python_version} -m venv')
    pip = [python, '-m', 'pip', '--no-input']
    run(pip + ['install', '-q', '--upgrade', 'pip>=26'], log,
        'pip install --upgrade pip')
    with tempfile.TemporaryDirectory(prefix='cinderlib-bench-') as work:
        run(pip + ['download', '-q', '--no-deps', '-d', work,
                   f'cinderlib=={CINDERLIB}', f'cinder=={CINDER}'], log,
            f'pip download cinderlib=={CINDERLIB} cinder=={CINDER}')
        wheels = sorted(glob.glob(os.path.join(work, '*.whl')))
        if len(wheels) != 2:
            raise RetiredVenvError(f'expected 2 wheels, got {wheels}')
        wanted = sorted({r for wheel in wheels for r in requirements(wheel)})
        for name, lines in (('requirements.txt', wanted + EXTRAS),
                            ('caps.txt', ERA_CAPS)):
            with open(os.path.join(work, name), 'w') as out:
                out.write('\n'.join(lines) + '\n')
        report = os.path.join(work, 'report.json')
        run(pip + ['install', '-q', '--uploaded-prior-to', cutoff,
                   '-r', os.path.join(work, 'requirements.txt'),
                   '-c', os.path.join(work, 'caps.txt'),
                   '--report', report], log,
            f'pip install the dependencies uploaded before {cutoff}')
        with open(report) as source:
            installed = json.load(source)['install']
        run(pip + ['install', '-q', '--no-deps'] + wheels, log,
            'pip install --no-deps the two wheels')
    local = [item['download_info']['url'] for item in installed
             if not item['download_info']['url'].startswith('http')]
    if local:
        raise RetiredVenvError(
            f'files from outside a dated index (the cut-off does not '
            f'apply to them): {", ".join(local[:5])}')
    run(pip + ['check'], log, 'pip check')
    versions = json.loads(run(
        [python, '-c', 'import json, importlib.metadata as m; print(json.'
         'dumps({d.metadata["Name"]: d.version for d in m.distributions()}))'],
        log, 'import check'))
    run([python, '-c', 'import cinderlib, cinder.volume.driver'], log,
        'import cinderlib and Cinder')
    manifest = {'python': python_version, 'cutoff': cutoff,
                'caps': ERA_CAPS, 'extras': EXTRAS, 'versions': versions}
    with open(os.path.join(path, MANIFEST), 'w') as out:
        json.dump(manifest, out, indent=1, sort_keys=True)


def manifest(python):
    """The manifest of the venv of ``python``."""
    path = os.path.dirname(os.path.dirname(python))
    with open(os.path.join(path, MANIFEST)) as source:
        return json.load(source)


def key_versions(python):
    versions = {name.lower(): version for name, version in
                manifest(python)['versions'].items()}
    return {name: versions[name.lower()] for name in KEY_PACKAGES
            if name.lower() in versions}


if __name__ == '__main__':
    try:
        built = ensure(*sys.argv[1:3])
    except RetiredVenvError as error:
        sys.exit(f'retired venv: {error}')
    print(built)
    print(json.dumps(key_versions(built), indent=1))
