"""Configuration reference generated from the code at build time.

Directives:

``.. cinderlib-setup-options::``
    Every parameter of ``cinderlib.setup()`` (``Backend.global_setup``):
    type and default from the signature, description from the
    ``:param NAME:`` fields of its docstring.
``.. cinderlib-persistence-plugins::``
    The persistence plugins of cinderlib's entry point namespace, each
    with the arguments of its class (signature and ``:param:`` fields).
``.. cinderlib-driver-options:: DOTTED.DriverClass``
    The oslo.config options of a volume driver's
    ``get_driver_options()``: name, type, default and help.

A parameter or option without a description is an error, so the build
(and ``tests/unit/test_docs.py``) fails when one is added without
documentation.  The ``*_rst`` functions return reStructuredText lines and
can be used without Sphinx.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
import typing
from typing import Any, Callable, Iterable, Optional

PLUGIN_NAMESPACE = 'cinderlib.persistence.storage'
_FIELD = re.compile(r'^:param\s+(?:[^:\s]+\s+)?\*{0,2}(\w+):\s*(.*)$')


class UndocumentedOption(Exception):
    """An option without a description, or a description of nothing."""


# -- docstrings ---------------------------------------------------------------


def parse_docstring(docstring: Optional[str]) -> tuple[str, dict]:
    """(summary, {parameter: description}) of a docstring.

    The summary is the first paragraph; descriptions come from
    ``:param NAME: text`` fields, continuation lines indented.
    """
    lines = inspect.cleandoc(docstring or '').splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or line.startswith(':'):
            break
        summary.append(line.strip())
    params: dict[str, str] = {}
    current: Optional[str] = None
    for line in lines:
        match = _FIELD.match(line)
        if match:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current and line.startswith((' ', '\t')) and line.strip():
            params[current] = f'{params[current]} {line.strip()}'.strip()
        else:
            current = None
    return ' '.join(summary), params


def _descriptions(classes: Iterable[Any]) -> dict:
    """Parameter descriptions of the docstrings of ``classes`` (classes or
    functions), the first ones winning; a class gives its own docstring's
    and its ``__init__``'s."""
    found: dict[str, str] = {}
    for item in classes:
        sources = [item]
        if isinstance(item, type) and '__init__' in vars(item):
            sources.append(vars(item)['__init__'])
        for source in sources:
            for name, text in parse_docstring(
                    getattr(source, '__doc__', None))[1].items():
                found.setdefault(name, text)
    return found


# -- formatting ---------------------------------------------------------------


def type_name(annotation: Any) -> str:
    """``Optional[str]`` as ``str or None``, a class as its name."""
    if annotation is inspect.Parameter.empty or annotation is typing.Any:
        return 'any'
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(arg) for arg in typing.get_args(annotation)
                 if arg is not type(None)]
        if len(names) < len(typing.get_args(annotation)):
            names.append('None')
        return ' or '.join(names)
    if origin is not None:
        return type_name(origin)
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def literal(value: Any, python: bool = True) -> str:
    """``value`` as inline code: its Python ``repr()``, or as written in
    ``cinder.conf`` with ``python=False``."""
    text = repr(value) if python or not isinstance(value, str) else value
    return '``' + text.replace('`', "'") + '``' if text else '(empty)'


def _indent(text: str, prefix: str = '    ') -> list[str]:
    return [prefix + line if line else '' for line in text.splitlines()]


def _signature(function: Callable) -> inspect.Signature:
    try:
        return inspect.signature(function, eval_str=True)
    except (NameError, TypeError):
        return inspect.signature(function)


def parameters(function: Callable, descriptions: dict, where: str,
               inherited: Optional[dict] = None) -> list[dict]:
    """The documented parameters of ``function`` (``self`` and ``cls``
    left out): ``[{'name', 'label', 'type', 'default', 'description'}]``.

    ``descriptions`` are the function's own, ``inherited`` those of the
    classes it overrides, used for parameters of the same name.  Raises
    ``UndocumentedOption`` for a parameter without a description, or an
    own description of no parameter.
    """
    result = []
    params = [p for p in _signature(function).parameters.values()
              if p.name not in ('self', 'cls')]
    descriptions = {**(inherited or {}), **descriptions}
    missing = [p.name for p in params if not descriptions.get(p.name)]
    if missing:
        raise UndocumentedOption(
            f'{where}: no ":param NAME:" description for {", ".join(missing)}')
    unknown = sorted(set(descriptions) - set(inherited or ()) -
                     {p.name for p in params})
    if unknown:
        raise UndocumentedOption(
            f'{where}: descriptions of no parameter: {", ".join(unknown)}')
    for param in params:
        entry = {'name': param.name, 'label': f'``{param.name}``',
                 'type': type_name(param.annotation),
                 'default': None, 'description': descriptions[param.name]}
        if param.kind is param.VAR_KEYWORD:
            entry['label'] = f'``**{param.name}``'
            entry['type'] = None
        elif param.default is param.empty:
            entry['default'] = 'required'
        else:
            entry['default'] = 'default ' + literal(param.default)
        result.append(entry)
    return result


def _parameter_list(entries: list[dict]) -> list[str]:
    lines: list[str] = []
    for entry in entries:
        details = ', '.join(part for part in (
            entry['type'] and f'*{entry["type"]}*', entry['default'])
            if part)
        lines.append(f'{entry["label"]} ({details})' if details
                     else entry['label'])
        lines.extend(_indent(entry['description']))
    return lines


# -- the generators -----------------------------------------------------------


def setup_options() -> list[dict]:
    """The parameters of ``cinderlib.setup()``."""
    from cinderlib.backend import Backend
    function = Backend.global_setup
    return parameters(function, parse_docstring(function.__doc__)[1],
                      'cinderlib.setup()')


def setup_options_rst() -> list[str]:
    return _parameter_list(setup_options())


def persistence_plugins() -> list[dict]:
    """The plugins of cinderlib's entry point namespace:
    ``[{'name', 'class', 'summary', 'arguments'}]``, the default first."""
    from stevedore import extension

    from cinderlib import persistence
    manager = extension.ExtensionManager(
        namespace=PLUGIN_NAMESPACE, invoke_on_load=False,
        on_load_failure_callback=_raise_load_failure)
    plugins = []
    for ext in manager:
        plugin = ext.plugin
        if not plugin.__module__.startswith('cinderlib.'):
            continue  # another package's plugin: documented there
        where = f'persistence plugin {ext.name!r} ({plugin.__name__})'
        summary = parse_docstring(plugin.__doc__)[0]
        if not summary:
            raise UndocumentedOption(f'{where}: no docstring')
        plugins.append({'name': ext.name, 'class': plugin,
                        'summary': summary,
                        'arguments': plugin_arguments(plugin, where)})
    plugins.sort(key=lambda p: (p['name'] != persistence.DEFAULT_STORAGE,
                                p['name']))
    return plugins


def plugin_arguments(plugin: type, where: str) -> list[dict]:
    """The arguments of a plugin class: its ``__init__``'s parameters,
    described in its docstrings or, for a parameter of the same name, in
    those of the classes it derives from."""
    return parameters(plugin.__init__, _descriptions([plugin]), where,
                      inherited=_descriptions(plugin.__mro__[1:-1]))


def _raise_load_failure(manager: Any, entry_point: Any, exc: Exception):
    raise exc


def persistence_plugins_rst() -> list[str]:
    lines: list[str] = []
    for plugin in persistence_plugins():
        cls = plugin['class']
        lines.append(f'``{plugin["name"]}`` '
                     f'(:class:`~{cls.__module__}.{cls.__qualname__}`)')
        lines.extend(_indent(plugin['summary']))
        lines.append('')
        if plugin['arguments']:
            lines.extend(_indent('Arguments:\n\n' + '\n'.join(
                _parameter_list(plugin['arguments']))))
        else:
            lines.extend(_indent('It takes no arguments.'))
        lines.append('')
    return lines


def import_class(dotted: str) -> type:
    module, _, name = dotted.rpartition('.')
    return getattr(importlib.import_module(module), name)


def driver_options(driver: Any) -> list[dict]:
    """The oslo.config options of a driver class (or its dotted path):
    ``[{'name', 'type', 'default', 'help', 'secret'}]``."""
    if isinstance(driver, str):
        from cinderlib.cinder import config as cinder_config
        cinder_config.load()  # Cinder first, as a backend would import it
        driver = import_class(driver)
    options = []
    for opt in driver.get_driver_options():
        if not (opt.help or '').strip():
            raise UndocumentedOption(
                f'{driver.__name__}: option {opt.name} has no help')
        type_label = getattr(opt.type, 'type_name', None) or type(
            opt).__name__
        options.append({'name': opt.name,
                        'type': type_label.replace(' value', ''),
                        'default': opt.default, 'help': opt.help.strip(),
                        'secret': bool(getattr(opt, 'secret', False))})
    return options


def escape(text: str) -> str:
    """Plain text made safe for reStructuredText."""
    return re.sub(r'([\\*`|_])', r'\\\1', text)


def driver_options_rst(driver: Any) -> list[str]:
    lines = ['.. list-table::', '   :header-rows: 1',
             '   :widths: 25 12 25 38', '',
             '   * - Option', '     - Type', '     - Default',
             '     - Description']
    for option in driver_options(driver):
        default = ('(none)' if option['default'] is None
                   else literal(option['default'], python=False))
        description = escape(option['help']) + (
            ' Secret: masked in serialized output.' if option['secret']
            else '')
        lines += [f'   * - ``{option["name"]}``',
                  f'     - {option["type"]}',
                  f'     - {default}',
                  f'     - {description}']
    return lines


# -- Sphinx -------------------------------------------------------------------


def setup(app: Any) -> dict:
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util import docutils as sphinx_docutils

    class _Generated(sphinx_docutils.SphinxDirective):
        """Parses the reStructuredText a generator returns."""

        generator: Callable[..., list[str]]
        modules: tuple[str, ...] = ()

        def run(self) -> list:
            try:
                lines = type(self).generator(*self.arguments)
            except (UndocumentedOption, ImportError, AttributeError) as exc:
                raise self.error(f'{self.name}: {exc}')
            for module in self.modules + tuple(
                    a.rpartition('.')[0] for a in self.arguments):
                path = getattr(sys.modules.get(module), '__file__', None)
                if path:
                    self.env.note_dependency(path)
            container = nodes.container()
            self.state.nested_parse(StringList(lines, source=self.name),
                                    self.content_offset, container)
            return container.children

    class SetupOptions(_Generated):
        generator = staticmethod(setup_options_rst)
        modules = ('cinderlib.backend',)

    class PersistencePlugins(_Generated):
        generator = staticmethod(persistence_plugins_rst)
        modules = ('cinderlib.persistence.memory',
                   'cinderlib.persistence.dbms')

    class DriverOptions(_Generated):
        generator = staticmethod(driver_options_rst)
        required_arguments = 1

    app.add_directive('cinderlib-setup-options', SetupOptions)
    app.add_directive('cinderlib-persistence-plugins', PersistencePlugins)
    app.add_directive('cinderlib-driver-options', DriverOptions)
    return {'version': '1', 'parallel_read_safe': True,
            'parallel_write_safe': True}
