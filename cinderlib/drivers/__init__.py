"""Volume drivers shipped with cinderlib."""
