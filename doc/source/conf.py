"""Sphinx configuration of the cinderlib documentation."""

import os
import sys

# Document the checkout this file belongs to, not an installed copy.
sys.path.insert(0, os.path.abspath(os.path.join(__file__, '..', '..', '..')))
# This documentation's own extensions.
sys.path.insert(0, os.path.abspath(os.path.join(__file__, '..', '_ext')))

import cinderlib  # noqa: E402  (importing it does not import Cinder)

project = 'cinderlib'
copyright = 'cinderlib developers'
author = 'cinderlib developers'
release = cinderlib.__version__
version = release

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.doctest',
              'sphinx.ext.viewcode', 'cinderlib_reference',
              'cinderlib_matrix']
# Only modules that do not import Cinder when imported are autodocumented
# (see api.rst), so no imports need mocking.  The configuration reference
# (cinderlib_reference) imports Cinder to read the file driver's options.
autodoc_typehints = 'none'
autodoc_member_order = 'bysource'

# The examples run with ``sphinx -b doctest`` (tools/test.sh): each page in
# a temporary directory of its own, with cinderlib set up afresh.
doctest_global_setup = '''
import cinderlib_doctest as _doctest_env
_doctest_env.start()
'''
doctest_global_cleanup = '_doctest_env.stop()'

html_theme = 'alabaster'
exclude_patterns = []
