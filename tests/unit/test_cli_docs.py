"""Every command and option that doc/source/cli.rst documents is accepted
by the command's parser, as written there."""

import os
import re

import pytest

from cinderlib import cli

CLI_RST = os.path.join(os.path.dirname(__file__), '..', '..', 'doc',
                       'source', 'cli.rst')
# What stands for each placeholder of the synopses.
VALUES = {'SIZE': '1', 'S': '1', 'ID': 'an-id', 'VOLUME_ID': 'an-id',
          'SNAPSHOT_ID': 'an-id', 'CONNECTION_ID': 'an-id', 'N': 'name',
          'P': 'pool', 'K=V': 'k=v', 'DIR': 'dir', 'TEXT': 'rbd',
          'CINDER_CONF': 'cinder.conf', 'CONNECTOR_JSON': '{}',
          'URL': 'sqlite:///x.sqlite', 'REFERENCE': 'disk.img',
          'COUNT': '10', 'KEY:DIR': 'size:asc'}
# Commands that hand their words to another tool's parser.
DELEGATED = {'migrate-db'}
BACKEND = ['--config', 'files.yaml', '--state', 'st.db']


def _synopses():
    """The ``...`` synopses of the terms of the "Commands" section."""
    with open(CLI_RST) as rst:
        text = rst.read()
    section = text.split('\nCommands\n')[1].split('\nExample::')[0]
    terms = [line for line in section.splitlines() if line.startswith('``')]
    return [synopsis for term in terms
            for synopsis in re.findall(r'``([^`]+)``', term)]


def _words(synopsis):
    """The synopsis as command line words: every optional part given,
    the first of alternatives, placeholders replaced by values."""
    words = []
    for token in synopsis.replace('[', ' ').replace(']', ' ').split():
        token = token.split('|')[0]
        words.append(VALUES.get(token, token))
    return words


SYNOPSES = _synopses()


def test_the_documented_commands_are_all_found():
    groups = ('volume', 'snapshot')
    commands = {' '.join(s.split()[:2 if s.split()[0] in groups else 1])
                for s in SYNOPSES}
    assert commands == {
        'demo', 'drivers', 'convert', 'connector', 'stats',
        'volume create', 'volume list', 'volume show', 'volume extend',
        'volume clone', 'volume revert', 'volume delete', 'volume migrate',
        'snapshot create', 'snapshot list', 'snapshot delete',
        'volume manage', 'volume unmanage', 'volume manageable',
        'snapshot manage', 'snapshot unmanage', 'snapshot manageable',
        'connect',
        'disconnect', 'attach', 'detach', 'migrate-db'}


@pytest.mark.parametrize('synopsis', SYNOPSES)
def test_a_documented_command_parses(synopsis):
    words = _words(synopsis)
    if words[0] in DELEGATED:
        args, rest = cli.build_parser().parse_known_args(words)
        assert args.cli_command.name == words[0]
        return
    uses_backend = words[0] not in ('demo', 'drivers', 'convert',
                                    'connector')
    args = cli.build_parser().parse_args(
        ['--format', 'json', *words, *(BACKEND if uses_backend else [])])
    assert args.format == 'json'


@pytest.mark.parametrize('words', [
    ['--debug', '--no-progress', '--format', 'table', 'volume', 'list'],
    ['volume', 'list', '--debug', '--no-progress', '--format', 'table'],
    ['stats', '--driver', 'x.Driver', '--backend-name', 'b', '-o', 'k=v',
     '--option', 'k2=v2'],
    ['volume', 'create', '--from-snapshot', 'an-id'],
    ['drivers', '--output-version', '2'],
    ['connector', '--root-helper', 'sudo', '--my-ip', '192.0.2.1',
     '--multipath'],
    ['disconnect', 'an-id', '--force'],
    ['detach', 'an-id', '--force'],
])
def test_the_documented_options_parse(words):
    args = cli.build_parser().parse_args(words)
    assert args.debug is ('--debug' in words)
