"""``cinderlib demo|drivers|convert|connector|stats``: the installation,
this host and the backend as a whole."""

from __future__ import annotations

import socket
import sys
from typing import Any

import cinderlib
from cinderlib import conf_convert
from cinderlib import demo as demo_run
from cinderlib.cli.command import Call, Commands, Exit, arg, progress_lines
from cinderlib.cli.errors import UsageError

commands = Commands()


@commands.command('demo', 'run every operation on the embedded file '
                  'backend', arg('--dir', help='work in this directory '
                                 '(default: a temporary one, removed '
                                 'afterwards)'), backend=False)
def demo(call: Call) -> Any:
    # No delay: each step's line replaces its progress line.
    return Exit(demo_run.run_demo(
        call.args.dir, on_error=lambda message: print(message,
                                                      file=sys.stderr),
        progress=progress_lines(call.args, delay=0)))


@commands.command('drivers', 'list the installed Cinder drivers and their '
                  'options',
                  arg('--name', help='only drivers whose class name '
                                     'contains this text'),
                  arg('--output-version', type=int, default=1,
                      choices=(1, 2)),
                  backend=False, progress='importing every driver')
def drivers(call: Call) -> Any:
    found = cinderlib.list_supported_drivers(call.args.output_version)
    if call.args.name:
        found = {name: info for name, info in found.items()
                 if call.args.name.lower() in name.lower()}
    return found


@commands.command('convert', 'turn cinder.conf backend sections into '
                  'cinderlib code or config', arg('cinder_conf'),
                  arg('--section', action='append',
                      help='backend section (default: enabled_backends)'),
                  arg('--to', choices=('python', 'yaml', 'json'),
                      default='python'),
                  backend=False)
def convert(call: Call) -> Any:
    try:
        backends = conf_convert.read_cinder_conf(call.args.cinder_conf,
                                                 call.args.section)
    except conf_convert.ConversionError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(conf_convert.render(backends, call.args.to))
    return Exit(0)


@commands.command('connector', "this host's os-brick connector properties",
                  arg('--root-helper', default='sudo'), arg('--my-ip'),
                  arg('--multipath', action='store_true'), backend=False)
def connector(call: Call) -> Any:
    args = call.args
    return cinderlib.get_connector_properties(
        args.root_helper, args.my_ip or socket.gethostbyname(
            socket.gethostname()), args.multipath, False)


@commands.command('stats', "the backend's capacity and capabilities",
                  progress='reading the backend stats')
def stats(call: Call) -> Any:
    return call.backend.stats(refresh=True)
