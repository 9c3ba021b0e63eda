"""Sphinx configuration of the cinderlib documentation."""

import os
import sys

# Document the checkout this file belongs to, not an installed copy.
sys.path.insert(0, os.path.abspath(os.path.join(__file__, '..', '..', '..')))

import cinderlib  # noqa: E402  (importing it does not import Cinder)

project = 'cinderlib'
copyright = 'cinderlib developers'
author = 'cinderlib developers'
release = cinderlib.__version__
version = release

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.viewcode']
# Only modules that do not import Cinder when imported are autodocumented
# (see api.rst), so no imports need mocking.
autodoc_typehints = 'none'
autodoc_member_order = 'bysource'

html_theme = 'alabaster'
exclude_patterns = []
