"""Every internal of Cinder (and of os-brick, oslo.config and
oslo.versionedobjects) that cinderlib relies on, checked against the
installed releases.

These tests run in every cell of the support matrix (tools/matrix.py): when
a new Cinder renames or drops one of these, a test here fails naming it,
before any behaviour test fails for a reason that is harder to read.  The
lists are checked against the code too: a module that cinderlib imports
from Cinder, or a field of a Cinder object it reads as ``_ovo.NAME``,
that is missing here fails ``test_the_lists_cover_the_code``.  Where
releases differ, the module of ``cinderlib/cinder/`` owning the concern
detects which form it has; the forms are listed as ``AnyOf``.
"""

import ast
import inspect
import os
import re

import pytest

from cinderlib.cinder import config
from cinderlib.cinder import db_shim
from cinderlib.cinder import ovo

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, 'cinderlib')


class AnyOf(tuple):
    """Attributes of which at least one must exist (the forms of a thing
    across releases, which cinderlib/cinder/ tells apart)."""


# module: attributes (dotted paths) cinderlib uses.
MODULE_ATTRIBUTES = {
    'cinder': [],
    'cinder.common.config': [],
    'cinder.context': ['RequestContext'],
    'cinder.coordination': ['COORDINATOR.start', 'COORDINATOR.stop',
                            'COORDINATOR.started', 'COORDINATOR.get_lock'],
    # The DB API: see test_db_api_functions_exist.
    'cinder.db': [],
    'cinder.db.api': [],
    'cinder.exception': [
        'NotFound', 'VolumeNotFound', 'SnapshotNotFound',
        'VolumeAttachmentNotFound', 'InvalidVolume', 'InvalidInput',
        'VolumeDriverException', 'VolumeBackendAPIException',
        'VolumeTypeNotFound', 'GlanceMetadataNotFound', 'QoSSpecsNotFound'],
    'cinder.interface': ['_volume_register', 'volumedriver'],
    'cinder.interface.util': ['DriverInfo'],
    'cinder.objects': ['register_all', 'base.CinderObject.obj_from_primitive',
                       'Volume', 'Snapshot', 'VolumeAttachment',
                       'VolumeAttachmentList', 'VolumeType',
                       'QualityOfServiceSpecs', 'VolumeList',
                       'SnapshotList'],
    'cinder.privsep': ['sys_admin_pctxt.set_client_mode'],
    'cinder.volume': ['configuration', 'driver'],
    'cinder.volume.configuration': ['SHARED_CONF_GROUP', 'Configuration',
                                    'Configuration.append_config_values',
                                    'Configuration.safe_get'],
    'cinder.volume.driver': ['BaseVD', 'VolumeDriver', 'volume_opts',
                             'BaseVD.do_setup',
                             'BaseVD.check_for_setup_error',
                             'BaseVD.set_initialized',
                             'BaseVD.init_capabilities'],
    'cinder.volume.drivers': ['__path__'],
    'cinder.volume.drivers.rbd': ['RBDDriver'],
    'cinder.volume.manager': [],
    'cinder.volume.volume_utils': ['hosts_are_equivalent', 'extract_host'],
    'os_brick': ['setup'],
    'os_brick.initiator': ['connector'],
    'os_brick.initiator.connector': [
        'get_connector_properties', 'InitiatorConnector.factory'],
    'os_brick.privileged': ['default.set_client_mode',
                            'default.cfg_section', 'default.helper_command'],
    'oslo_config': ['cfg'],
    'oslo_config.cfg': ['CONF', 'CONF._opts', 'CONF._groups',
                        'CONF.set_override', 'CONF.clear_override',
                        'StrOpt', 'BoolOpt', 'Opt', 'DuplicateOptError',
                        'Error'],
    'oslo_config.types': ['String'],
    'oslo_log': ['log'],
    'oslo_serialization': ['jsonutils.dumps'],
    'oslo_versionedobjects': ['base', 'fields', 'exception'],
    'oslo_versionedobjects.base': [
        'VersionedObject', 'ObjectListBase',
        'VersionedObjectRegistry.obj_classes'],
    'oslo_versionedobjects.exception': ['VersionedObjectsException'],
    'oslo_versionedobjects.fields': [
        'UnspecifiedDefault', 'ObjectField', 'Enum', 'String',
        'StringPattern', 'Boolean', 'Integer', 'Float', 'DateTime', 'Dict',
        'List', 'Set', 'Object'],
}

# Modules only some supported releases have, with what cinderlib uses of
# them: Cinder 27 and 28 keep the DB API's implementation (and the
# models' lookup) in cinder.db.sqlalchemy.api, behind cinder.db.api.IMPL;
# Cinder 29 merged it into cinder.db.api.
RELEASE_MODULES = {
    'cinder.db.sqlalchemy.api': ['get_model_for_versioned_object'],
}

# Private attributes of oslo.versionedobjects' field types that the
# primitive checker reads, by the type that has them.
FIELD_TYPE_ATTRIBUTES = {
    'Enum': ['_valid_values'],
    'List': ['_element_type'],
    'Dict': ['_element_type'],
    'Object': ['_obj_name'],
}

# Cinder object class: fields and attributes cinderlib reads or sets.
OBJECT_ATTRIBUTES = {
    'Volume': [
        'id', 'name', 'size', 'status', 'attach_status', 'host',
        'display_name', 'display_description', 'availability_zone',
        'bootable', 'multiattach', 'project_id', 'user_id', 'created_at',
        'deleted', 'volume_type', 'volume_type_id', 'volume_attachment',
        'snapshots', 'metadata', 'admin_metadata', 'glance_metadata',
        'encryption_key_id', 'source_volid', 'snapshot_id', 'provider_id',
        'consistencygroup', 'cluster', 'group', 'get', 'obj_attr_is_set',
        'obj_reset_changes', 'obj_what_changed', 'fields', 'OPTIONAL_FIELDS',
        'OBJ_PROJECT_NAMESPACE', 'VERSION', 'obj_name', 'migration_status',
        'name_id'],
    'Snapshot': [
        'id', 'volume_id', 'volume_size', 'status', 'progress',
        'display_name', 'display_description', 'metadata', 'volume',
        'cgsnapshot', 'group_snapshot', 'created_at', 'deleted',
        'provider_id', 'OPTIONAL_FIELDS'],
    'VolumeAttachment': [
        'id', 'volume_id', 'volume', 'attach_status', 'attach_mode',
        'attached_host', 'attach_time', 'connection_info', 'connector',
        'instance_uuid', 'mountpoint'],
    'VolumeType': ['id', 'name', 'description', 'is_public', 'projects',
                   'extra_specs', 'qos_specs_id', 'qos_specs', 'created_at',
                   'deleted'],
    'QualityOfServiceSpecs': ['id', 'name', 'consumer', 'specs'],
}

# Attributes of oslo.versionedobjects' instances that cinderlib reads or
# sets: the change tracking, the context.
INSTANCE_ATTRIBUTES = ('_changed_fields', '_context')

# Options cinderlib sets or reads, by group (None: [DEFAULT]).
OPTIONS = {
    None: ['state_path', 'host', 'my_ip', 'storage_availability_zone'],
    'oslo_concurrency': ['lock_path'],
    'coordination': ['backend_url'],
    'backend_defaults': ['volume_driver', 'volume_backend_name'],
}


@pytest.fixture(scope='module', autouse=True)
def cinder_loaded():
    config.load()


def _resolve(module_name, path):
    value = __import__(module_name, fromlist=['_'])
    for part in path.split('.') if path else []:
        value = getattr(value, part)
    return value


@pytest.mark.parametrize('module_name', sorted(MODULE_ATTRIBUTES))
def test_module_attributes_exist(module_name):
    missing = []
    for path in MODULE_ATTRIBUTES[module_name]:
        forms = path if isinstance(path, AnyOf) else (path,)
        for form in forms:
            try:
                _resolve(module_name, form)
                break
            except AttributeError:
                continue
        else:
            missing.append(' or '.join(forms))
    assert not missing, f'{module_name} has no {", ".join(missing)}'


@pytest.mark.parametrize('class_name', sorted(OBJECT_ATTRIBUTES))
def test_object_fields_exist(class_name):
    cls = getattr(ovo.objects_module(), class_name)
    missing = [name for name in OBJECT_ATTRIBUTES[class_name]
               if name not in cls.fields and not hasattr(cls, name)]
    assert not missing, f'Cinder {class_name} has no {missing}'


def test_object_instances_have_the_attributes_read():
    volume = ovo.objects_module().Volume(None, id='1')
    missing = [name for name in INSTANCE_ATTRIBUTES
               if not hasattr(volume, name)]
    assert not missing, f'Cinder objects have no {missing}'


@pytest.mark.parametrize('class_name', ['Volume', 'VolumeAttachment',
                                        'Snapshot'])
def test_is_set_is_what_obj_attr_is_set_says(class_name):
    """ovo.is_set reads the attribute behind a field as oslo does."""
    cls = getattr(ovo.objects_module(), class_name)
    instance = cls(None, id='1')
    ovo.set_coerced(instance, 'deleted', False)
    for name in cls.fields:
        assert ovo.is_set(instance, name) == instance.obj_attr_is_set(
            name), name
    assert ovo.is_set(instance, 'id') and ovo.is_set(instance, 'deleted')
    instance.obj_reset_changes()
    delattr(instance, 'deleted')
    assert not ovo.is_set(instance, 'deleted')


def test_field_types_have_the_attributes_the_checker_reads():
    from oslo_versionedobjects import fields
    samples = {'Enum': fields.Enum(['a']),
               'List': fields.List(fields.String()),
               'Dict': fields.Dict(fields.String()),
               'Object': fields.Object('Volume')}
    for name, attributes in FIELD_TYPE_ATTRIBUTES.items():
        for attribute in attributes:
            assert hasattr(samples[name], attribute), (name, attribute)
    field = fields.ObjectField('Volume')
    assert field.AUTO_TYPE._obj_name == 'Volume'
    assert isinstance(field._type, fields.Object)


@pytest.mark.parametrize('group', sorted(OPTIONS, key=str))
def test_options_are_registered(group):
    conf = config.conf()
    registered = conf._opts if group is None else conf._groups[group]._opts
    missing = [name for name in OPTIONS[group] if name not in registered]
    assert not missing, f'[{group or "DEFAULT"}] has no {missing}'


def test_db_api_functions_exist():
    """The functions the DB shim serves are the ones Cinder calls: one it
    no longer has would leave its callers on Cinder's real database."""
    from cinder.db import api
    missing = [name for name in db_shim.SHIM_FUNCTIONS
               if not callable(getattr(api, name, None))]
    assert not missing, f'cinder.db.api has no {missing}'


def test_db_api_is_routed_where_cinder_calls_it(backend):
    """Every namespace Cinder's objects call the DB API through (the
    ``cinder.db`` package up to Cinder 28, ``cinder.db.api`` after) is
    served by the shim: a Cinder object lazy-loads through it."""
    import cinder.objects.volume as volume_module
    db = volume_module.db
    assert db in [module for module, _ in db_shim.db_api_namespaces()]
    volume = backend.create_volume(1, name='routed')
    assert db.volume_get(None, volume.id) is volume._ovo


def test_driver_constructor_takes_what_build_driver_passes():
    from cinder.volume import driver
    parameters = inspect.signature(driver.BaseVD.__init__).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    for name in ('configuration', 'host', 'cluster_name', 'db',
                 'is_vol_db_empty', 'active_backend_id'):
        assert name in parameters or accepts_any, name


def test_brick_privsep_contexts_include_the_default_one():
    from os_brick import privileged
    assert privileged.default in config.brick_privsep_contexts()


def test_request_context_takes_what_make_context_passes():
    context = config.make_context('user', 'project')
    assert (context.user_id, context.project_id, context.is_admin) == (
        'user', 'project', True)


# -- the lists cover the code -------------------------------------------------

def _external(module):
    return module.split('.')[0] in ('cinder', 'os_brick') or (
        module.startswith('oslo_'))


def _library_sources():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path, encoding='utf-8') as stream:
                    yield path, stream.read()


def _imported_modules(source):
    """Modules of Cinder, os-brick and oslo that ``source`` imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and (
                _external(node.module)):
            found.add(node.module)
            for alias in node.names:
                candidate = f'{node.module}.{alias.name}'
                if candidate in MODULE_ATTRIBUTES:
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names
                         if _external(alias.name))
        elif (isinstance(node, ast.Call) and
              getattr(node.func, 'attr', None) == 'import_module' and
              node.args and isinstance(node.args[0], ast.Constant) and
              _external(str(node.args[0].value))):
            found.add(node.args[0].value)
    return found


def test_the_models_lookup_is_where_the_release_keeps_it():
    """Cinder 29: cinder.db.api looks models up, and the older module is
    gone; Cinder 27 and 28: the module behind IMPL does."""
    import importlib.util
    cinder_dir = importlib.util.find_spec('cinder').submodule_search_locations
    older = os.path.join(cinder_dir[0], 'db', 'sqlalchemy', 'api.py')
    if os.path.exists(older):
        names = RELEASE_MODULES['cinder.db.sqlalchemy.api']
        module = __import__('cinder.db.sqlalchemy.api', fromlist=['_'])
    else:
        names = ['get_model_for_versioned_object']
        module = __import__('cinder.db.api', fromlist=['_'])
    assert all(callable(getattr(module, name)) for name in names)


def test_the_lists_cover_the_code():
    listed_fields = set().union(*OBJECT_ATTRIBUTES.values())
    unlisted_modules, unlisted_fields = set(), set()
    for path, source in _library_sources():
        unlisted_modules |= _imported_modules(source) - set(
            MODULE_ATTRIBUTES) - set(RELEASE_MODULES)
        unlisted_fields |= set(re.findall(r'\b_ovo\.(\w+)', source)) - (
            listed_fields | set(INSTANCE_ATTRIBUTES))
    assert not unlisted_modules, (
        f'cinderlib imports {sorted(unlisted_modules)}: list them in '
        f'MODULE_ATTRIBUTES')
    assert not unlisted_fields, (
        f'cinderlib reads {sorted(unlisted_fields)} of Cinder objects: '
        f'list them in OBJECT_ATTRIBUTES')
