"""Sphinx configuration of the cinderlib documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(__file__, '..', '..', '..')))

project = 'cinderlib'
copyright = 'cinderlib developers'
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.viewcode']
autodoc_typehints = 'none'
autodoc_member_order = 'bysource'
html_theme = 'alabaster'
exclude_patterns = []
