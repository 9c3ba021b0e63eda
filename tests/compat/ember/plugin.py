"""Running Ember-CSI 0.9.1 as Kubernetes runs it: a process serving CSI
on a UNIX socket, configured by environment variables, driven over gRPC.

``Ember`` starts one plugin process (``controller``, ``node`` or ``all``)
from the Ember-CSI virtualenv and talks to it through ``csi_client.py``
run with that virtualenv's Python.  A node process may run in a private
mount namespace (``unshare``): its bind mounts vanish with it, and the test
reaches what it mounted through ``/proc/PID/root``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from typing import Any, Optional

from tests.compat.ember import venv

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'csi_client.py')
MAIN = 'from ember_csi import ember_csi; ember_csi.main()'
PLUGIN_NAME = 'cltest'
START_TIMEOUT = 120


class StartError(Exception):
    """The plugin exited or did not serve in time (the message says why)."""


class Reply:
    """The answer to one CSI call."""

    def __init__(self, method: str, answer: dict[str, Any],
                 plugin: 'Ember') -> None:
        self.method = method
        self.ok: bool = answer['ok']
        self.code: str = answer.get('code', 'OK')
        self.details: str = answer.get('details', '')
        self.response: dict[str, Any] = answer.get('response', {})
        self.plugin = plugin

    def __repr__(self) -> str:
        if self.ok:
            return f'<{self.method} OK {json.dumps(self.response)[:300]}>'
        return f'<{self.method} {self.code}: {self.details}>'

    def explain(self) -> str:
        """This reply, and the plugin's last error with its traceback."""
        return f'{self!r}\n{self.plugin.last_error()}'


class Ember:
    """One Ember-CSI plugin process and a CSI client connected to it."""

    def __init__(self, venv_path: str, workdir: str, mode: str,
                 persistence: dict[str, Any],
                 backend: Optional[dict[str, Any]] = None,
                 node_id: str = 'node1', env: Optional[dict[str, str]] = None,
                 private_mounts: bool = False) -> None:
        self.python = os.path.join(venv_path, 'bin', 'python')
        self.workdir = workdir
        self.mode = mode
        self.persistence = persistence
        self.backend = backend
        self.node_id = node_id
        self.extra_env = env or {}
        self.private_mounts = private_mounts
        self.socket = os.path.join(workdir, 'csi.sock')
        self.state_path = os.path.join(workdir, 'state')
        self.log_path = os.path.join(workdir, 'ember.log')
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.client: Optional[subprocess.Popen[str]] = None
        self.lock = threading.Lock()
        self.start_seconds = 0.0

    # -- life --------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        # Inside a Kubernetes pod, Ember's CRD plugin would talk to the
        # pod's own cluster (in-cluster config): never from the tests.
        env = {k: v for k, v in venv._clean_env().items()
               if not k.startswith('KUBERNETES_')}
        env.update({
            'CSI_ENDPOINT': f'unix://{self.socket}',
            'CSI_MODE': self.mode,
            'X_CSI_SPEC_VERSION': '1.1.0',
            'X_CSI_NODE_ID': self.node_id,
            'X_CSI_STORAGE_NW_IP': '127.0.0.1',
            'X_CSI_PERSISTENCE_CONFIG': json.dumps(self.persistence),
            'X_CSI_EMBER_CONFIG': json.dumps({
                'plugin_name': PLUGIN_NAME,
                'state_path': self.state_path,
                'file_locks_path': os.path.join(self.state_path, 'locks'),
                'grpc_workers': 4,
                # Probe then stores and reads a key-value and asks the
                # driver for its stats.
                'enable_probe': True,
            }),
        })
        if self.backend is not None:
            env['X_CSI_BACKEND_CONFIG'] = json.dumps(self.backend)
        env.update(self.extra_env)
        return env

    def start(self) -> 'Ember':
        os.makedirs(self.workdir, exist_ok=True)
        command = [self.python, '-c', MAIN]
        if self.private_mounts:
            command = ['unshare', '--mount', '--propagation', 'private',
                       '--'] + command
        began = time.monotonic()
        with open(self.log_path, 'ab') as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.environment(),
                cwd=self.workdir, start_new_session=True)
        while not os.path.exists(self.socket):
            if self.process.poll() is not None:
                raise StartError(
                    f'Ember-CSI ({self.mode}) exited with '
                    f'{self.process.returncode} at start-up: '
                    f'{self.last_error()}')
            if time.monotonic() - began > START_TIMEOUT:
                self.stop()
                raise StartError(f'Ember-CSI ({self.mode}) did not serve '
                                 f'in {START_TIMEOUT}s: {self.last_error()}')
            time.sleep(0.1)
        self.client = subprocess.Popen(
            [self.python, CLIENT, f'unix://{self.socket}'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=venv._clean_env(), cwd=self.workdir)
        # The socket exists from the bind on: wait until it answers.
        first = self.call('GetPluginInfo', wait_for_ready=True,
                          timeout=START_TIMEOUT)
        if not first.ok:
            raise StartError(f'Ember-CSI ({self.mode}) does not answer: '
                             f'{first.explain()}')
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        self.terminate()
        self.wait()

    def terminate(self) -> None:
        """Close the client and ask the plugin to stop (SIGTERM, Ember's
        graceful stop; it kills itself 2s later)."""
        if self.client is not None:
            self.client.stdin.close()  # type: ignore[union-attr]
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self) -> None:
        if self.client is not None:
            try:
                self.client.wait(10)
            except subprocess.TimeoutExpired:
                self.client.kill()
                self.client.wait(10)
            self.client = None
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    # -- calls -------------------------------------------------------------
    def call(self, method: str, request: Optional[dict[str, Any]] = None,
             timeout: float = 60, wait_for_ready: bool = False) -> Reply:
        """Make one CSI call; never raises for a gRPC error code."""
        assert self.client is not None, 'the plugin is not running'
        line = json.dumps({'method': method, 'request': request or {},
                           'timeout': timeout,
                           'wait_for_ready': wait_for_ready})
        with self.lock:
            self.client.stdin.write(line + '\n')  # type: ignore[union-attr]
            self.client.stdin.flush()  # type: ignore[union-attr]
            answer = self.client.stdout.readline()  # type: ignore
        if not answer:
            raise RuntimeError(f'the CSI client died during {method}')
        return Reply(method, json.loads(answer), self)

    # -- what it left ------------------------------------------------------
    def log(self) -> str:
        try:
            with open(self.log_path, errors='replace') as log:
                return log.read()
        except FileNotFoundError:
            return ''

    def last_error(self) -> str:
        """The last traceback in the plugin's log, else its last lines."""
        lines = self.log().splitlines()
        starts = [i for i, line in enumerate(lines)
                  if line.lstrip('\t ').startswith('Traceback (most recent')]
        if starts:
            block = lines[starts[-1]:]
            end = next((i for i, line in enumerate(block[1:], 1)
                        if not line.startswith(('\t', ' '))), len(block))
            block = block[:end + 1]
        else:
            block = lines[-15:]
        return '\n'.join(line.rstrip() for line in block[-40:])

    def library_frames(self) -> list[str]:
        """``file:line`` of the cinderlib frames of the last traceback."""
        return re.findall(r'/(cinderlib/[\w/]+\.py)", line (\d+)',
                          self.last_error())

    # -- the node's private mounts -----------------------------------------
    def path(self, path: str) -> str:
        """``path`` as this process sees it (through its mount namespace)."""
        assert self.process is not None
        if not self.private_mounts:
            return path
        return f'/proc/{self.process.pid}/root{path}'

    def mount_points(self) -> list[str]:
        """The mount points of this process's mount namespace."""
        assert self.process is not None
        with open(f'/proc/{self.process.pid}/mountinfo') as info:
            return [line.split()[4] for line in info]
