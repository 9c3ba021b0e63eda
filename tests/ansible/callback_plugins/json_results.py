"""A stdout callback printing a playbook run as one JSON document, in the
format of ansible.posix's ``json`` callback (which ansible-core no longer
ships): ``{"plays": [{"play": {...}, "tasks": [{"task": {"name": ...,
"duration": {"start": ..., "end": ...}}, "hosts": {HOST: result}}]}],
"stats": {HOST: {"ok": N, "changed": N, ...}}}``."""

from __future__ import annotations

import datetime
import json

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: json_results
    type: stdout
    short_description: the playbook run as one JSON document
    description:
      - Used by cinderlib's tests and bench to read playbook results.
"""


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'json_results'

    def __init__(self):
        super().__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]['tasks'].append({
            'task': {'name': task.get_name(),
                     'duration': {'start': _now()}},
            'hosts': {}})

    def _record(self, result, **extra):
        task = self.plays[-1]['tasks'][-1]
        task['task']['duration']['end'] = _now()
        task['hosts'][result.host.get_name()] = dict(result.result, **extra)

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host)
                   for host in sorted(stats.processed)}
        self._display.display(json.dumps(
            {'plays': self.plays, 'stats': summary}, cls=AnsibleJSONEncoder,
            indent=2, sort_keys=True))
