"""FileVolumeDriver driven directly, on 1 GiB sparse files in tmp_path."""

import errno
import os
import subprocess
import uuid
import warnings
from concurrent import futures

import pytest
from oslo_config import cfg

with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # eventlet's deprecation notice
    from cinder import context
    from cinder import objects

objects.register_all()  # driver modules need the object classes

from cinder import exception  # noqa: E402
from cinder.volume import configuration  # noqa: E402
from cinder.volume import driver as cinder_driver  # noqa: E402
from os_brick.initiator import connector as brick_connector  # noqa: E402

from cinderlib.drivers import file as file_driver  # noqa: E402

GiB = 1024 ** 3
MiB = 1024 ** 2
BLOCK = 4096
GROUP = 'file_test'


def _parse_conf_once():
    if getattr(cfg.CONF, '_namespace', None) is None:
        cfg.CONF([], project='cinder', default_config_files=[],
                 default_config_dirs=[])


@pytest.fixture
def ctx():
    return context.RequestContext('user', 'project', is_admin=True)


@pytest.fixture
def directory(tmp_path):
    return str(tmp_path / 'volumes')


@pytest.fixture
def make_driver(directory):
    """Build drivers of the ``file_test`` group with option overrides."""
    _parse_conf_once()
    overridden = set()

    def make(**options):
        conf = configuration.Configuration(
            file_driver.file_opts + cinder_driver.volume_opts,
            config_group=GROUP)
        options = {'file_volumes_dir': directory,
                   'volume_backend_name': GROUP, **options}
        for name, value in options.items():
            cfg.CONF.set_override(name, value, group=GROUP)
            overridden.add(name)
        return file_driver.FileVolumeDriver(configuration=conf,
                                            host=f'node@{GROUP}')

    yield make
    for name in overridden:
        cfg.CONF.clear_override(name, group=GROUP)


@pytest.fixture
def drv(make_driver, ctx):
    driver = make_driver()
    driver.do_setup(ctx)
    driver.check_for_setup_error()
    return driver


@pytest.fixture
def new_volume(ctx, drv):
    def make(size=1):
        return objects.Volume(ctx, id=str(uuid.uuid4()), size=size,
                              status='creating')
    return make


@pytest.fixture
def new_snapshot(ctx):
    def make(volume, snapshot_id=None):
        if snapshot_id is None:
            snapshot_id = str(uuid.uuid4())
        return objects.Snapshot(ctx, id=snapshot_id,
                                volume_id=volume.id, volume=volume,
                                volume_size=volume.size, status='creating')
    return make


def pattern(text):
    return (text.encode() * BLOCK)[:BLOCK]


def write(path, offset, data):
    with open(path, 'r+b') as device:
        device.seek(offset)
        device.write(data)


def read(path, offset, length=BLOCK):
    with open(path, 'rb') as device:
        device.seek(offset)
        return device.read(length)


def allocated(path):
    return os.stat(path).st_blocks * 512


def listing(directory):
    return sorted(os.listdir(directory))


def temp_files(directory):
    return [n for n in os.listdir(directory)
            if n.startswith(file_driver.TEMP_PREFIX)]


@pytest.fixture
def written(drv, new_volume):
    """A 1 GiB volume with data at its very start and its very end."""
    volume = new_volume()
    drv.create_volume(volume)
    path = drv.volume_path(volume)
    write(path, 0, pattern('start'))
    write(path, GiB - BLOCK, pattern('end'))
    return volume


def assert_same_data(path, size=GiB):
    assert read(path, 0) == pattern('start')
    assert read(path, GiB - BLOCK) == pattern('end')
    assert os.path.getsize(path) == size


# -- set-up ------------------------------------------------------------------

def test_setup_creates_a_private_directory(drv, directory):
    assert os.path.isdir(directory)
    assert os.stat(directory).st_mode & 0o777 == 0o700
    assert drv.directory == os.path.realpath(directory)


def test_setup_error_when_directory_missing(make_driver):
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='not a directory'):
        make_driver().check_for_setup_error()


def test_setup_error_when_path_is_a_file(make_driver, tmp_path, ctx):
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    driver = make_driver(file_volumes_dir=str(blocker))
    with pytest.raises(exception.VolumeBackendAPIException):
        driver.do_setup(ctx)
    with pytest.raises(exception.VolumeBackendAPIException):
        driver.check_for_setup_error()


def test_setup_creates_missing_parents_private(make_driver, ctx, tmp_path):
    nested = tmp_path / 'a' / 'b' / 'volumes'
    make_driver(file_volumes_dir=str(nested)).do_setup(ctx)
    for path in (nested, nested.parent, nested.parent.parent):
        assert os.stat(path).st_mode & 0o777 == 0o700


@pytest.mark.parametrize('mode', [0o777, 0o770, 0o1777, 0o757])
def test_directory_writable_by_others_is_refused(make_driver, ctx,
                                                 directory, mode):
    os.mkdir(directory)
    os.chmod(directory, mode)
    driver = make_driver()
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='writable by other users.*chmod 700'):
        driver.do_setup(ctx)
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='writable by other users'):
        driver.check_for_setup_error()


def test_directory_made_writable_after_setup_is_refused(drv, directory):
    os.chmod(directory, 0o777)
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='writable by other users'):
        drv.check_for_setup_error()


def test_readable_directory_of_the_user_is_accepted(make_driver, ctx,
                                                    directory):
    os.mkdir(directory, 0o755)
    os.chmod(directory, 0o755)
    driver = make_driver()
    driver.do_setup(ctx)
    driver.check_for_setup_error()


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_directory_of_another_user_is_refused(make_driver, ctx, directory):
    os.mkdir(directory, 0o700)
    os.chown(directory, 65534, 65534)
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='belongs to uid 65534'):
        make_driver().do_setup(ctx)


def test_options_are_listed_and_default(make_driver):
    names = [opt.name for opt in
             file_driver.FileVolumeDriver.get_driver_options()]
    assert names == ['file_volumes_dir', 'file_use_reflink']
    shared = getattr(cfg.CONF, configuration.SHARED_CONF_GROUP)
    assert shared.file_use_reflink is True
    assert shared.file_volumes_dir.endswith('/cinderlib-volumes')


def test_setup_removes_temp_files_of_dead_processes(make_driver, ctx,
                                                    directory):
    os.makedirs(directory)
    dead = subprocess.Popen(['true'])
    dead.wait()
    stale = f'{file_driver.TEMP_PREFIX}{dead.pid}-abc'
    unnamed = f'{file_driver.TEMP_PREFIX}half-written'
    live = f'{file_driver.TEMP_PREFIX}{os.getpid()}-def'
    for name in (stale, unnamed, live, 'volume-keep'):
        with open(os.path.join(directory, name), 'w') as handle:
            handle.write('x')
    make_driver().do_setup(ctx)
    assert listing(directory) == sorted([live, 'volume-keep'])


# -- volumes -----------------------------------------------------------------

def test_create_makes_a_sparse_file_named_after_the_id(drv, new_volume,
                                                       directory):
    volume = new_volume()
    update = drv.create_volume(volume)
    path = os.path.join(os.path.realpath(directory), f'volume-{volume.id}')
    assert drv.volume_path(volume) == path
    assert update == {'provider_location': path}
    assert os.path.getsize(path) == GiB
    assert allocated(path) < MiB
    assert read(path, GiB - BLOCK) == bytes(BLOCK)
    assert temp_files(directory) == []


def test_create_refuses_an_existing_file(drv, written):
    path = drv.volume_path(written)
    with pytest.raises(exception.VolumeBackendAPIException):
        drv.create_volume(written)
    assert read(path, 0) == pattern('start')


def test_delete_removes_the_file_and_twice_is_harmless(drv, written):
    path = drv.volume_path(written)
    drv.delete_volume(written)
    assert not os.path.exists(path)
    drv.delete_volume(written)
    assert not os.path.exists(path)


def test_extend_grows_and_keeps_data(drv, written):
    path = drv.volume_path(written)
    drv.extend_volume(written, 3)
    assert_same_data(path, size=3 * GiB)
    assert read(path, 3 * GiB - BLOCK) == bytes(BLOCK)
    assert allocated(path) < MiB


def test_extend_refuses_to_shrink(drv, written):
    drv.extend_volume(written, 2)
    with pytest.raises(exception.InvalidInput):
        drv.extend_volume(written, 1)
    assert os.path.getsize(drv.volume_path(written)) == 2 * GiB


def test_extend_missing_volume_fails(drv, new_volume):
    with pytest.raises(exception.VolumeBackendAPIException):
        drv.extend_volume(new_volume(), 2)


# -- clones and snapshots ----------------------------------------------------

def test_clone_copies_the_data(drv, written, new_volume):
    clone = new_volume()
    update = drv.create_cloned_volume(clone, written)
    path = drv.volume_path(clone)
    assert update == {'provider_location': path}
    assert_same_data(path)
    write(path, 0, pattern('clone'))
    assert read(drv.volume_path(written), 0) == pattern('start')


def test_clone_may_be_larger(drv, written, new_volume):
    clone = new_volume(size=2)
    drv.create_cloned_volume(clone, written)
    path = drv.volume_path(clone)
    assert_same_data(path, size=2 * GiB)
    assert read(path, GiB) == bytes(BLOCK)
    assert read(path, 2 * GiB - BLOCK) == bytes(BLOCK)


def test_sparse_copy_copies_only_the_data(make_driver, ctx, new_volume):
    drv = make_driver(file_use_reflink=False)
    drv.do_setup(ctx)
    source = new_volume()
    drv.create_volume(source)
    write(drv.volume_path(source), 0, pattern('start'))
    write(drv.volume_path(source), GiB - BLOCK, pattern('end'))
    clone = new_volume()
    drv.create_cloned_volume(clone, source)
    assert drv.last_copy_reflinked is False
    assert 2 * BLOCK <= drv.last_copy_bytes <= 2 * MiB
    assert allocated(drv.volume_path(clone)) <= 4 * MiB
    assert_same_data(drv.volume_path(clone))


def test_copy_reports_reflink_or_bytes(drv, written, new_volume):
    clone = new_volume()
    drv.create_cloned_volume(clone, written)
    if drv.last_copy_reflinked:
        assert drv.last_copy_bytes == 0
    else:
        assert 2 * BLOCK <= drv.last_copy_bytes <= 2 * MiB


def test_unsupported_reflink_falls_back(drv, written, new_volume,
                                        monkeypatch):
    def no_clone(fd, request, arg):
        assert request == file_driver.FICLONE
        raise OSError(errno.EOPNOTSUPP, 'not here')

    monkeypatch.setattr(file_driver.fcntl, 'ioctl', no_clone)
    clone = new_volume()
    drv.create_cloned_volume(clone, written)
    assert drv.last_copy_reflinked is False
    assert drv.last_copy_bytes >= 2 * BLOCK
    assert_same_data(drv.volume_path(clone))


def test_unsupported_copy_file_range_falls_back(make_driver, ctx, written,
                                                new_volume, monkeypatch):
    def no_copy_file_range(*args):
        raise OSError(errno.EXDEV, 'cross-device')

    monkeypatch.setattr(file_driver.os, 'copy_file_range',
                        no_copy_file_range)
    drv = make_driver(file_use_reflink=False)
    clone = new_volume()
    drv.create_cloned_volume(clone, written)
    assert_same_data(drv.volume_path(clone))


def test_clone_of_missing_source_fails_cleanly(drv, new_volume, directory):
    with pytest.raises(exception.VolumeBackendAPIException):
        drv.create_cloned_volume(new_volume(), new_volume())
    assert listing(directory) == []


def test_snapshot_is_independent_of_later_writes(drv, written,
                                                 new_snapshot):
    snapshot = new_snapshot(written)
    assert drv.create_snapshot(snapshot) is None
    path = drv.snapshot_path(snapshot)
    assert os.path.basename(path) == f'snapshot-{snapshot.id}'
    write(drv.volume_path(written), 0, pattern('later'))
    write(drv.volume_path(written), GiB - BLOCK, pattern('later'))
    assert_same_data(path)


def test_volume_from_snapshot_may_be_larger(drv, written, new_snapshot,
                                            new_volume):
    snapshot = new_snapshot(written)
    drv.create_snapshot(snapshot)
    write(drv.volume_path(written), 0, pattern('later'))
    restored = new_volume(size=3)
    update = drv.create_volume_from_snapshot(restored, snapshot)
    path = drv.volume_path(restored)
    assert update == {'provider_location': path}
    assert_same_data(path, size=3 * GiB)
    assert read(path, 2 * GiB) == bytes(BLOCK)


def test_deleting_a_snapshot_keeps_its_volumes(drv, written, new_snapshot,
                                               new_volume):
    snapshot = new_snapshot(written)
    drv.create_snapshot(snapshot)
    restored = new_volume()
    drv.create_volume_from_snapshot(restored, snapshot)
    drv.delete_snapshot(snapshot)
    drv.delete_snapshot(snapshot)
    assert not os.path.exists(drv.snapshot_path(snapshot))
    assert_same_data(drv.volume_path(restored))
    assert_same_data(drv.volume_path(written))


def test_concurrent_clones_of_one_source(drv, written, new_volume,
                                         directory):
    clones = [new_volume() for _ in range(8)]
    with futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda clone: drv.create_cloned_volume(clone, written), clones))
    assert len(results) == 8
    for clone in clones:
        assert_same_data(drv.volume_path(clone))
    assert temp_files(directory) == []
    assert len(listing(directory)) == 9


def test_crash_during_copy_leaves_no_file(make_driver, ctx, written,
                                          new_volume, directory,
                                          monkeypatch):
    real_chunk = file_driver._copy_chunk
    calls = []

    def crash_after_first_chunk(*args):
        calls.append(args)
        if len(calls) > 1:
            raise OSError(errno.EIO, 'disk pulled out')
        return real_chunk(*args)

    monkeypatch.setattr(file_driver, '_copy_chunk', crash_after_first_chunk)
    drv = make_driver(file_use_reflink=False)
    before = listing(directory)
    clone = new_volume()
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='disk pulled out'):
        drv.create_cloned_volume(clone, written)
    assert len(calls) == 2  # the first extent was written, then the crash
    assert not os.path.exists(drv.volume_path(clone))
    assert temp_files(directory) == []
    assert listing(directory) == before
    monkeypatch.undo()
    drv.create_cloned_volume(clone, written)  # a retry works
    assert_same_data(drv.volume_path(clone))


# -- path safety -------------------------------------------------------------

# Ids that cannot be file names as they are.
HASHED_IDS = ['../../etc/x', 'a/b', '..', 'a..b', 'x\0y', '/etc/passwd',
              'x' * 300, '\u00e9' * 130, 'line\nbreak']


@pytest.mark.parametrize('odd_id', HASHED_IDS)
def test_any_id_maps_to_a_file_in_the_directory(drv, new_volume,
                                                new_snapshot, written,
                                                tmp_path, directory, odd_id):
    odd = new_volume()
    odd.id = odd_id
    drv.create_volume(odd)
    name = os.path.basename(drv.volume_path(odd))
    assert name.startswith('volume-..') and len(name) == 7 + 2 + 64
    drv.extend_volume(odd, 2)
    assert drv.initialize_connection(odd, {})['data']['device_path'] == (
        drv.volume_path(odd))
    clone = new_volume()
    drv.create_cloned_volume(clone, odd)
    snapshot = new_snapshot(odd, odd_id)
    drv.create_snapshot(snapshot)
    from_snapshot = new_volume()
    from_snapshot.id = odd_id + '-2'
    drv.create_volume_from_snapshot(from_snapshot, snapshot)
    assert os.path.getsize(drv.volume_path(from_snapshot)) == 2 * GiB
    assert len(listing(directory)) == 5  # written, odd, clone, snap, copy
    drv.delete_snapshot(snapshot)
    for volume in (odd, clone, from_snapshot):
        drv.delete_volume(volume)
    assert listing(directory) == [f'volume-{written.id}']
    # (cinderlib-locks holds the library's lock files, made by setup.)
    assert set(listing(tmp_path)) - {'cinderlib-locks'} == {'volumes'}


def test_plain_ids_are_the_file_names(drv, new_volume, directory):
    for plain in ('my-volume', 'x' * 248, 'pvc 1 (copy)'):
        volume = new_volume()
        volume.id = plain
        drv.create_volume(volume)
        assert os.path.basename(drv.volume_path(volume)) == f'volume-{plain}'


def test_a_plain_id_never_takes_a_hashed_name(drv, new_volume):
    long_one = new_volume()
    long_one.id = 'x' * 300
    lookalike = new_volume()
    lookalike.id = os.path.basename(drv.volume_path(long_one))[7:]
    assert drv.volume_path(lookalike) != drv.volume_path(long_one)
    drv.create_volume(long_one)
    drv.create_volume(lookalike)
    drv.delete_volume(lookalike)
    assert os.path.exists(drv.volume_path(long_one))


@pytest.mark.parametrize('bad_id', ['', None, 7])
def test_ids_that_are_no_string_are_refused(drv, new_volume, directory,
                                            bad_id):
    bad = new_volume()
    bad.__dict__['_obj_id'] = bad_id  # past the field's own coercion
    with pytest.raises(exception.InvalidInput):
        drv.create_volume(bad)
    assert listing(directory) == []


@pytest.fixture
def planted(drv, new_volume):
    """Volumes A and B, A's file replaced by a symbolic link to B's."""
    volume_a, volume_b = new_volume(), new_volume()
    drv.create_volume(volume_a)
    drv.create_volume(volume_b)
    write(drv.volume_path(volume_b), 0, pattern('b'))
    os.unlink(drv.volume_path(volume_a))
    os.symlink(drv.volume_path(volume_b), drv.volume_path(volume_a))
    return volume_a, volume_b


def assert_b_untouched(drv, volume_b):
    path = drv.volume_path(volume_b)
    assert os.path.getsize(path) == GiB
    assert read(path, 0) == pattern('b')


def test_extend_does_not_follow_a_planted_symlink(drv, planted):
    volume_a, volume_b = planted
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='symbolic link'):
        drv.extend_volume(volume_a, 2)
    assert_b_untouched(drv, volume_b)


def test_connection_path_is_never_a_planted_symlink(drv, planted):
    volume_a, volume_b = planted
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='symbolic link'):
        drv.initialize_connection(volume_a, {})


def test_clone_and_snapshot_do_not_copy_through_a_symlink(
        drv, planted, new_volume, new_snapshot, directory):
    volume_a, volume_b = planted
    before = listing(directory)
    for call in (lambda: drv.create_cloned_volume(new_volume(), volume_a),
                 lambda: drv.create_snapshot(new_snapshot(volume_a))):
        with pytest.raises(exception.VolumeBackendAPIException,
                           match='symbolic link'):
            call()
    assert listing(directory) == before


def test_volume_from_a_planted_snapshot_symlink_is_refused(
        drv, planted, new_volume, new_snapshot, directory):
    volume_a, volume_b = planted
    snapshot = new_snapshot(volume_b)
    os.symlink(drv.volume_path(volume_b), drv.snapshot_path(snapshot))
    target = new_volume()
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='symbolic link'):
        drv.create_volume_from_snapshot(target, snapshot)
    assert not os.path.lexists(drv.volume_path(target))


def test_delete_removes_a_planted_symlink_not_its_target(
        drv, planted, new_snapshot):
    volume_a, volume_b = planted
    drv.delete_volume(volume_a)
    assert not os.path.lexists(drv.volume_path(volume_a))
    snapshot = new_snapshot(volume_b)
    os.symlink(drv.volume_path(volume_b), drv.snapshot_path(snapshot))
    drv.delete_snapshot(snapshot)
    assert not os.path.lexists(drv.snapshot_path(snapshot))
    assert_b_untouched(drv, volume_b)


def test_create_never_writes_through_a_planted_symlink(drv, new_volume,
                                                       tmp_path):
    outside = tmp_path / 'outside'
    volume = new_volume()
    os.symlink(outside, drv.volume_path(volume))  # dangling
    with pytest.raises(exception.VolumeBackendAPIException,
                       match='already exists'):
        drv.create_volume(volume)
    assert not outside.exists()


def test_symlink_out_of_the_directory_is_refused(drv, new_volume, tmp_path,
                                                 directory):
    outside = tmp_path / 'outside'
    outside.write_bytes(b'precious')
    volume = new_volume()
    os.symlink(outside, os.path.join(directory, f'volume-{volume.id}'))
    for call in (lambda: drv.extend_volume(volume, 2),
                 lambda: drv.initialize_connection(volume, {}),
                 lambda: drv.create_cloned_volume(new_volume(), volume)):
        with pytest.raises(exception.VolumeBackendAPIException):
            call()
    assert outside.read_bytes() == b'precious'


def test_special_files_are_refused_without_blocking(drv, new_volume):
    volume = new_volume()
    os.mkfifo(drv.volume_path(volume), 0o600)  # opening it would block
    for call in (lambda: drv.extend_volume(volume, 2),
                 lambda: drv.initialize_connection(volume, {}),
                 lambda: drv.create_cloned_volume(new_volume(), volume)):
        with pytest.raises(exception.VolumeBackendAPIException,
                           match='not a regular file'):
            call()


def test_display_name_is_never_a_path(drv, new_volume, directory):
    volume = new_volume()
    volume.display_name = '../../escape'
    drv.create_volume(volume)
    assert listing(directory) == [f'volume-{volume.id}']


# -- stats -------------------------------------------------------------------

def test_stats_report_real_capacity(drv, written, new_volume,
                                    new_snapshot, directory):
    drv.create_volume(new_volume(size=2))
    drv.create_snapshot(new_snapshot(written))
    stats = drv.get_volume_stats(refresh=True)
    fs = os.statvfs(directory)
    assert stats['total_capacity_gb'] == round(
        fs.f_frsize * fs.f_blocks / GiB, 2)
    assert 0 < stats['free_capacity_gb'] <= stats['total_capacity_gb']
    assert isinstance(stats['total_capacity_gb'], float)
    assert stats['provisioned_capacity_gb'] == 3.0  # snapshot not counted
    assert stats['allocated_capacity_gb'] == 3.0
    assert stats['thin_provisioning_support'] is True
    assert stats['thick_provisioning_support'] is False
    assert stats['storage_protocol'] == 'LOCAL'
    assert stats['volume_backend_name'] == GROUP
    assert stats['vendor_name'] == 'cinderlib'
    assert stats['driver_version'] == '1.0.0'
    assert stats['multiattach'] is True
    assert stats['reserved_percentage'] == 0
    assert float(stats['max_over_subscription_ratio']) == 20.0
    [pool] = stats['pools']
    assert pool['pool_name'] == GROUP
    assert pool['provisioned_capacity_gb'] == 3.0
    assert pool['total_capacity_gb'] == stats['total_capacity_gb']


def test_stats_follow_configuration_and_refresh(make_driver, ctx,
                                                new_volume):
    drv = make_driver(reserved_percentage=7, max_over_subscription_ratio='3')
    drv.do_setup(ctx)
    assert drv.get_volume_stats()['provisioned_capacity_gb'] == 0
    drv.create_volume(new_volume(size=4))
    assert drv.get_volume_stats()['provisioned_capacity_gb'] == 0  # cached
    stats = drv.get_volume_stats(refresh=True)
    assert stats['provisioned_capacity_gb'] == 4.0
    assert stats['reserved_percentage'] == 7
    assert float(stats['max_over_subscription_ratio']) == 3.0


def test_backend_name_defaults_to_the_class_name(make_driver, ctx):
    drv = make_driver(volume_backend_name=None)
    drv.do_setup(ctx)
    stats = drv.get_volume_stats(refresh=True)
    assert stats['volume_backend_name'] == 'FileVolumeDriver'
    assert stats['pools'][0]['pool_name'] == 'FileVolumeDriver'


# -- connections -------------------------------------------------------------

def test_exports_do_nothing(drv, written, ctx):
    assert drv.create_export(ctx, written, {}) is None
    assert drv.ensure_export(ctx, written) is None
    assert drv.remove_export(ctx, written) is None
    assert drv.validate_connector({'anything': 1}) is None
    assert drv.terminate_connection(written, {}) is None


def test_initialize_connection_gives_the_file_path(drv, written):
    info = drv.initialize_connection(written, {'host': 'elsewhere'})
    assert info == {'driver_volume_type': 'local',
                    'data': {'device_path': drv.volume_path(written)}}
    assert os.path.isabs(info['data']['device_path'])


def test_initialize_connection_of_missing_volume_fails(drv, new_volume):
    with pytest.raises(exception.VolumeBackendAPIException):
        drv.initialize_connection(new_volume(), {})


def test_os_brick_local_connector_attaches_the_file(drv, written):
    info = drv.initialize_connection(written, {})
    brick = brick_connector.InitiatorConnector.factory('LOCAL',
                                                       root_helper=None)
    device = brick.connect_volume(info['data'])
    assert device['path'] == drv.volume_path(written)
    assert read(device['path'], 0) == pattern('start')
    write(device['path'], BLOCK, pattern('attached'))
    assert read(drv.volume_path(written), BLOCK) == pattern('attached')
    brick.disconnect_volume(info['data'], device)


def test_a_volume_with_a_name_id_uses_that_file(drv, ctx, new_snapshot,
                                                directory):
    """After a migration a volume names the storage of the volume it
    took (Cinder's _name_id): its file, its snapshots' source."""
    taken = str(uuid.uuid4())
    volume = objects.Volume(ctx, id=str(uuid.uuid4()), _name_id=taken,
                            size=1, status='creating')
    drv.create_volume(volume)
    assert os.listdir(directory) == [f'volume-{taken}']
    snapshot = new_snapshot(volume)
    drv.create_snapshot(snapshot)
    drv.delete_snapshot(snapshot)
    drv.delete_volume(volume)
    assert os.listdir(directory) == []
