"""``python -m cinderlib``: the command line."""

from cinderlib.cli import main

raise SystemExit(main())
