"""``list_supported_drivers``: every volume driver in the installed Cinder.

Listing imports every driver module, which costs time and memory and leaves
modules and option registrations behind; so the listing runs in a child
Python process and only its JSON result comes back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, cast

from cinderlib import exception

_CHILD_CODE = (
    'import json, sys\n'
    'from cinderlib import cinder_glue\n'
    'result = cinder_glue.list_supported_drivers_in_this_process('
    'int(sys.argv[1]))\n'
    'sys.stdout.write(json.dumps(result, default=str))\n'
)


def list_supported_drivers(
        output_version: int = 1) -> dict[str, dict[str, Any]]:
    """``{class_name: {version, class_name, supported, ci_wiki_name,
    driver_options, class_fqn, desc}}`` for every installed driver.

    Version 1 gives option attributes as strings, version 2 keeps their
    native JSON types.
    """
    if output_version not in (1, 2):
        raise ValueError(f'output_version must be 1 or 2, got '
                         f'{output_version!r}')
    from cinderlib import cinder_glue
    child = subprocess.run(
        [sys.executable, '-c', _CHILD_CODE, str(output_version)],
        capture_output=True, text=True,
        env=cinder_glue.env_without_cinder_noise())
    if child.returncode != 0:
        raise exception.CinderlibError(
            f'listing drivers failed: {child.stderr.strip()[-2000:]}')
    return cast('dict[str, dict[str, Any]]', json.loads(child.stdout))
