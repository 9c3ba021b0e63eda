"""Cinder's trimmed import (cinderlib/cinder/deferred.py), checked in a
fresh interpreter: run by tests/unit/test_deferred.py with this venv's
python, and by hand with any other venv holding a Cinder release:

    PYTHONPATH=CHECKOUT OTHER_VENV/bin/python tests/unit/deferred_check.py

Prints one JSON object; exits non-zero when a check fails.
"""

import gc
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import cinderlib  # noqa: E402
from cinderlib.cinder import config as cinder_config  # noqa: E402
from cinderlib.cinder import deferred  # noqa: E402
from cinderlib.cinder import drivers as cinder_drivers  # noqa: E402

REAL_DRIVERS = {
    'lvm': ('cinder.volume.drivers.lvm.LVMVolumeDriver',
            {'volume_group': 'cinder-volumes'}),
    'nfs': ('cinder.volume.drivers.nfs.NfsDriver',
            {'nfs_shares_config': '/nonexistent/shares'}),
    'rbd': ('cinder.volume.drivers.rbd.RBDDriver',
            {'rbd_pool': 'volumes', 'rbd_user': 'cinder'}),
}


def states():
    """Each deferred module: not imported, deferred, or run; and whether
    Cinder's SQLAlchemy models are loaded."""
    found = {name: ('deferred' if deferred.is_deferred(name) else
                    'ran' if name in sys.modules else 'absent')
             for name in deferred.DEFERRED}
    found['models'] = ('loaded' if {'cinder.db.models',
                                    'cinder.db.sqlalchemy.models'} &
                       set(sys.modules) else 'absent')
    return found


def build(name, path, options):
    driver_class = cinder_drivers.import_driver_class(path)
    config = cinder_config.DriverConfiguration(
        name, driver_class, {'volume_driver': path,
                             'volume_backend_name': name, **options})
    driver = cinder_drivers.build_driver(
        driver_class, config.configuration, f'host@{name}',
        cinderlib.Backend.persistence.db)
    return type(driver).__name__


def main():
    work = tempfile.mkdtemp(prefix='cinderlib-deferred-')
    cinderlib.setup(state_path=work, disable_logs=True)
    backend = cinderlib.Backend(
        'files', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=os.path.join(work, 'volumes'))
    from cinder import objects
    from oslo_config import cfg
    import cinder
    result = {
        'cinder': getattr(cinder, '__version__', None) or _version(),
        'python': sys.version.split()[0],
        'after_backend': states(),
        'volume_name_template': cfg.CONF.volume_name_template,
        'model_name': objects.Volume.model.__name__,
        # Cinder's objects are left out of later collections.
        'frozen': gc.get_freeze_count(),
    }
    # The file driver, through the public API.
    volume = backend.create_volume(1)
    snapshot = volume.create_snapshot()
    clone = snapshot.create_volume()
    volume.extend(2)
    result['volume_name'] = volume._ovo.name
    result['snapshot_volume'] = snapshot._ovo.volume.id == volume.id
    for resource in (clone, snapshot, volume):
        resource.delete()
    result['after_operations'] = states()
    # Real Cinder drivers import and build after the trimmed import.
    result['built'] = {key: build(key, path, options)
                       for key, (path, options) in REAL_DRIVERS.items()}
    # A deferred module runs when used, keeping what was set on it.
    from cinder.db import api as db_api
    from cinder.volume.flows.manager import create_volume
    from cinder.volume import manager
    result['flow'] = callable(create_volume.get_flow)
    result['manager'] = manager.VolumeManager.__name__
    result['db_api_real'] = callable(db_api.volume_get_all)
    result['db_api_shimmed'] = (
        db_api.volume_get.__module__ == 'cinderlib.cinder.db_shim')
    result['model_after_run'] = objects.Volume.model.__table__.name
    # oslo.db's engine set-up runs when a facade makes an engine.
    from oslo_db.sqlalchemy import enginefacade
    facade = enginefacade.transaction_context()
    facade.configure(connection='sqlite://')
    with facade.writer.get_engine().connect() as connection:
        result['oslo_db_engine'] = connection.exec_driver_sql(
            'select 1').scalar()
    # os-brick's VMware connector finds oslo.vmware's modules when used.
    from os_brick.initiator.connectors import vmware
    result['vmware_session'] = vmware.api.VMwareAPISession.__name__
    result['vmware_moref'] = callable(vmware.vim_util.get_moref)
    # Ceph's bindings (where installed) load when used, the RBD driver's
    # module and os-brick's holding the same classes as a later import.
    from cinder.volume.drivers import rbd as rbd_driver
    from os_brick.initiator import linuxrbd
    if linuxrbd.rbd is not None:
        import rados
        import rbd
        result['ceph_bindings'] = [
            rbd_driver.rados.Rados is rados.Rados is linuxrbd.rados.Rados,
            rbd_driver.rbd.Image is rbd.Image is linuxrbd.rbd.Image,
            isinstance(rbd_driver.rbd.RBD().version(), tuple)]
    result['at_end'] = states()
    print(json.dumps(result))


def _version():
    from importlib import metadata
    return metadata.version('cinder')


if __name__ == '__main__':
    main()
