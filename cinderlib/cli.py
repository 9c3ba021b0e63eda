"""The ``cinderlib`` command."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence


def _demo(args: argparse.Namespace) -> int:
    from cinderlib import demo
    return demo.run_demo(args.dir, on_error=lambda message: print(
        message, file=sys.stderr))


def _drivers(args: argparse.Namespace) -> int:
    import cinderlib
    drivers = cinderlib.list_supported_drivers(args.output_version)
    if args.name:
        drivers = {name: info for name, info in drivers.items()
                   if args.name.lower() in name.lower()}
    json.dump(drivers, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='cinderlib',
        description='Cinder volume drivers as a library: tools.')
    commands = parser.add_subparsers(dest='command', required=True)
    demo = commands.add_parser(
        'demo', help='run every operation on the embedded file backend')
    demo.add_argument('--dir', help='work in this directory (default: a '
                                    'temporary one, removed afterwards)')
    demo.set_defaults(func=_demo)
    drivers = commands.add_parser(
        'drivers', help='list the installed Cinder drivers as JSON')
    drivers.add_argument('--name', help='only drivers whose class name '
                                        'contains this text')
    drivers.add_argument('--output-version', type=int, default=1,
                         choices=(1, 2))
    drivers.set_defaults(func=_drivers)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
