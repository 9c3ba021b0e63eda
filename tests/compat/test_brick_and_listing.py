"""What the retired library's callers expect of privileges, os-brick and the
driver listing, checked as those callers use them.

- Ember-CSI's node service calls os-brick directly right after
  ``cinderlib.setup()``: privileges must be configured by then.
- ``list_supported_drivers()`` in the retired library's two formats,
  against the real installed Cinder's drivers; run isolated from the
  caller's working directory.
- RBD volumes attach through the kernel (a ``/dev`` path) where it has an
  RBD client, as the retired library did, and through librbd elsewhere.
- ``cinderlib convert`` writes inert, valid Python for any cinder.conf.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

import cinderlib
from cinderlib import connectors

VENV_BIN = os.path.dirname(sys.executable)
HELPER = os.path.join(VENV_BIN, 'privsep-helper')
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason='checks what a root process gets')


def run_python(code, cwd, user=None, env=None):
    """Run ``code`` in a new interpreter (as ``user``); its last line of
    output is JSON."""
    command = [sys.executable, '-c', textwrap.dedent(code)]
    if user is not None:
        command = ['setpriv', f'--reuid={user}', f'--regid={user}',
                   '--clear-groups', *command]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- privileges -------------------------------------------------------------


@needs_root
def test_ember_node_reads_its_connector_through_os_brick_after_setup(
        tmp_path):
    found = run_python('''
        import json, sys
        import cinderlib
        cinderlib.setup(root_helper='sudo')
        from os_brick.initiator import connector
        props = connector.get_connector_properties(
            'sudo', '192.0.2.5', False, False)
        print(json.dumps({'props': props, 'cinder': 'cinder' in sys.modules}))
    ''', tmp_path)
    assert found['props']['ip'] == '192.0.2.5'
    assert {'host', 'platform', 'os_type', 'multipath'} <= set(
        found['props'])
    assert found['cinder'] is False


@needs_root
def test_root_runs_privileged_code_in_process_once_cinder_loads(tmp_path):
    # The first Backend runs setup() with its defaults.
    found = run_python(f'''
        import json
        import cinderlib
        cinderlib.Backend('files', volume_driver={FILE_DRIVER!r},
                          file_volumes_dir={str(tmp_path / 'vols')!r})
        from cinder import privsep
        from os_brick import privileged
        print(json.dumps([privileged.default.client_mode,
                          privileged.brick_privsep_hide_output.client_mode,
                          privsep.sys_admin_pctxt.client_mode]))
    ''', tmp_path)
    assert found == [False, False, False]


@pytest.fixture
def unprivileged_home():
    """(uid, home directory) of an unprivileged user."""
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        pytest.skip('needs root and setpriv to run as another user')
    try:
        uid = pwd.getpwnam('nobody').pw_uid
    except KeyError:
        pytest.skip('no user "nobody"')
    # Outside pytest's temporary directories, which only root may enter.
    home = tempfile.mkdtemp(prefix='cinderlib-unprivileged-')
    os.chown(home, uid, -1)
    yield uid, home
    shutil.rmtree(home)


def test_non_root_starts_the_venv_helper_behind_root_helper(
        unprivileged_home):
    uid, home = unprivileged_home
    found = run_python(f'''
        import json, os
        import cinderlib
        cinderlib.setup(root_helper='sudo -n', state_path={home!r})
        from os_brick import privileged
        before = privileged.default.helper_command('/run/sock')
        cinderlib.Backend('files', volume_driver={FILE_DRIVER!r},
                          file_volumes_dir={home + '/vols'!r})
        from cinder import privsep
        print(json.dumps({{
            'uid': os.geteuid(), 'brick': before,
            'brick_client': privileged.default.client_mode,
            'cinder': privsep.sys_admin_pctxt.helper_command('/run/sock'),
            'cinder_client': privsep.sys_admin_pctxt.client_mode}}))
    ''', home, user=uid, env={**os.environ, 'HOME': home})
    assert found['uid'] == uid
    for context in ('brick', 'cinder'):
        command = found[context]
        assert command[:3] == ['sudo', '-n', HELPER], command
        assert '--privsep_context' in command
        assert found[f'{context}_client'] is True


def test_helper_command_quotes_the_helper_and_keeps_root_helper_words():
    command = connectors.privsep_helper_command(
        "sudo -u root 'my wrapper'")
    assert command == f"sudo -u root 'my wrapper' {HELPER}"
    with pytest.raises(cinderlib.exception.InvalidArgument,
                       match='root_helper'):
        connectors.privsep_helper_command("sudo 'unbalanced")


def test_import_and_setup_do_not_import_cinder(tmp_path):
    found = run_python('''
        import json, sys
        import cinderlib
        imported = ['cinder' in sys.modules]
        cinderlib.setup()
        cinderlib.setup(root_helper='doas', debug=False)
        imported.append(sorted(m for m in sys.modules
                               if m.split('.')[0] == 'cinder'))
        print(json.dumps(imported))
    ''', tmp_path)
    assert found[0] is False
    # ``debug`` is a Cinder [DEFAULT] option: setting it loads Cinder.
    assert found[1] != []
    found = run_python('''
        import json, sys
        import cinderlib
        cinderlib.setup()
        cinderlib.setup(root_helper='doas',
                        persistence_config={'storage': 'memory'})
        print(json.dumps(sorted(m for m in sys.modules
                                if m.split('.')[0] == 'cinder')))
    ''', tmp_path)
    assert found == []
