"""Backends: one Cinder volume driver running in this process."""

from __future__ import annotations

import os
import socket
from typing import Any, Optional, cast

from cinderlib import _runtime
from cinderlib import connectors
from cinderlib import directories
from cinderlib import drivers_listing
from cinderlib import exception
from cinderlib import jsontext
from cinderlib import locks
from cinderlib import logs
from cinderlib import persistence as persistence_loader
from cinderlib import recovery
from cinderlib import serialization
from cinderlib import validation
from cinderlib._runtime import GlobalOptions, UnloadedBackend
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import db_shim
from cinderlib.cinder import drivers as cinder_drivers
from cinderlib.objects import Connection, Snapshot, Volume
from cinderlib.objects import adoption

SECRET_PLACEHOLDER = _runtime.SECRET_PLACEHOLDER
# Class attributes of Backend that are the process state of _runtime.
_PROCESS_STATE = ('backends', 'persistence', '_options')


class _ProcessState(type):
    """``Backend.backends``, ``Backend.persistence`` and ``Backend._options``
    (read and set) are the process state kept in ``_runtime``."""

    @property
    def backends(cls) -> dict[str, Backend]:
        # Only Backend instances are registered.
        return cast('dict[str, Backend]', _runtime.backends)

    @property
    def persistence(cls) -> persistence_loader.PersistenceDriverBase:
        return cast(persistence_loader.PersistenceDriverBase,
                    _runtime.state.persistence)

    @persistence.setter
    def persistence(cls,
                    plugin: persistence_loader.PersistenceDriverBase) -> None:
        _runtime.state.persistence = plugin

    @property
    def _options(cls) -> Optional[GlobalOptions]:
        return _runtime.state.options

    @_options.setter
    def _options(cls, options: Optional[GlobalOptions]) -> None:
        _runtime.state.options = options


class Backend(metaclass=_ProcessState):
    """A storage backend: a Cinder volume driver with its configuration.

    ``Backend(volume_backend_name, volume_driver='dotted.Driver', **opts)``
    where ``opts`` are the driver's options as in ``cinder.conf``.  There is
    one instance per name: the same name and configuration return the
    existing backend, another configuration raises ``ValueError``.
    Attributes not defined here fall through to the driver.
    """

    def __new__(cls, volume_backend_name: str,
                **driver_cfg: Any) -> Backend:
        with _runtime.lock:
            existing = Backend.backends.get(volume_backend_name)
            if existing is None:
                return super().__new__(cls)
            if existing._driver_cfg != driver_cfg:
                raise exception.InvalidArgument(
                    'volume_backend_name',
                    f'backend {volume_backend_name!r} is already loaded with '
                    f'another configuration; unload() it first')
            return existing

    def __init__(self, volume_backend_name: str, **driver_cfg: Any) -> None:
        with _runtime.lock:
            if Backend.backends.get(volume_backend_name) is self:
                return
            options = _runtime.options()
            _apply_cinder_options()
            self.id = cinder_config.check_backend_name(volume_backend_name)
            # config_text of the default serialization: written once.
            self._name_text = jsontext.dumps({'volume_backend_name': self.id})
            self._driver_cfg = dict(driver_cfg)
            driver_class = cinder_drivers.import_driver_class(
                driver_cfg.get('volume_driver'))
            self._config = cinder_config.DriverConfiguration(
                self.id, driver_class,
                {**driver_cfg, 'volume_backend_name': self.id})
            try:
                self.context = cinder_config.make_context(
                    options.user_id, options.project_id)
                self.host_name = f'{options.host}@{self.id}'
                self.driver = cinder_drivers.build_driver(
                    driver_class, self._config.configuration,
                    self.host_name, _runtime.persistence().db)
                cinder_drivers.setup_driver(self.driver, self.context)
                self._stats = self._complete_stats(
                    self.driver.get_volume_stats(refresh=False))
            except Exception:
                if getattr(self, 'driver', None) is not None:
                    cinder_drivers.release_driver(self.driver)
                self._config.clear()
                raise
            _runtime.backends[self.id] = self

    def __getattr__(self, name: str) -> Any:
        if name in _PROCESS_STATE:  # class attributes, read on an instance
            return getattr(Backend, name)
        if name.startswith('_') or name in ('driver', 'id'):
            raise AttributeError(name)
        return getattr(self.driver, name)

    def __repr__(self) -> str:
        return (f'<Backend {self.id} '
                f'driver={type(self.driver).__name__}>')

    # -- global set-up --------------------------------------------------------
    @classmethod
    def global_setup(cls, file_locks_path: Optional[str] = None,
                     root_helper: str = 'sudo',
                     suppress_requests_ssl_warnings: bool = True,
                     disable_logs: bool = True, non_uuid_ids: bool = False,
                     output_all_backend_info: bool = False,
                     project_id: Optional[str] = None,
                     user_id: Optional[str] = None,
                     persistence_config: Optional[dict[str, Any]] = None,
                     fail_on_missing_backend: bool = True,
                     host: Optional[str] = None,
                     serialize_secrets: bool = False,
                     coordination_backend_url: Optional[str] = None,
                     **cinder_config_params: Any) -> None:
        """Process-wide set-up; optional, and may be called again.

        The first ``Backend`` runs it with the defaults.  Each call replaces
        cinderlib's settings as a whole (arguments left out return to their
        defaults) and builds a new persistence plugin, which loaded
        backends then use.  Rejected settings leave the previous ones in
        force.

        :param file_locks_path: Directory of the lock files: the drivers'
            (oslo.concurrency's ``lock_path``), and cinderlib's own and
            those of Cinder's coordinator in its ``cinderlib-locks``
            subdirectory; ``None`` means ``state_path``.  It is created
            with mode 0700 if missing, and refused
            (``InvalidArgument``) if another user owns it or its group or
            others may write in it: whoever can write there can make
            this process create files anywhere.
        :param root_helper: Command prefix os-brick uses to start its
            privileged helper when the process is not root.
        :param suppress_requests_ssl_warnings: Hide urllib3's
            ``InsecureRequestWarning``, which drivers talking HTTPS to
            arrays with self-signed certificates raise on every call.
        :param disable_logs: Silence the loggers of Cinder, os-brick, oslo
            and the other OpenStack libraries they use; ``False`` gives
            them back their normal level.  The application's loggers and
            the root logger are never touched.
        :param non_uuid_ids: Accept ids that are not UUIDs (any string
            without ``/``, other than ``.`` and ``..``); otherwise an
            ``id`` given to cinderlib must be a UUID.
        :param output_all_backend_info: Serialized objects carry the
            backend's whole configuration, secret options masked, instead
            of only ``{'volume_backend_name': NAME}``.
        :param project_id: Project id of the request context drivers
            receive, stored in every object; ``None`` means
            ``'cinderlib'``.
        :param user_id: User id of that context; ``None`` means
            ``'cinderlib'``.
        :param persistence_config: ``{'storage': NAME_OR_CLASS_OR_INSTANCE,
            **plugin_arguments}``; ``None`` means the ``memory`` plugin.
        :param fail_on_missing_backend: Loading a serialized object whose
            backend is not loaded raises ``BackendNotLoaded``.  With
            ``False`` the object is bound to a placeholder that knows only
            the backend's name and configuration, and raises
            ``BackendNotLoaded`` when used.
        :param host: Host part of the ``HOST@BACKEND#POOL`` of created
            volumes; ``None`` means this machine's hostname.
        :param serialize_secrets: With ``output_all_backend_info``, keep
            secret driver options in clear in serialized backends, for
            callers that rebuild backends from them.
        :param coordination_backend_url: A tooz URL (``redis://host:6379``,
            ``etcd3+http://host:2379``...) shared by every host that uses
            the same storage: resource locks, and drivers' own locks, then
            hold across hosts; ``None`` means across the processes of this
            host only (lock files in ``file_locks_path``).
        :param cinder_config_params: Options of Cinder's ``[DEFAULT]``
            section (``state_path``, ``debug``, ``my_ip``,
            ``storage_availability_zone``...), checked and converted by
            their definitions; an unknown name raises ``InvalidArgument``
            naming the closest known options.  ``state_path`` (Cinder's
            directory for its state, and the default ``file_locks_path``)
            defaults to a private directory of the user, created with mode
            0700: ``/var/lib/cinderlib`` for root, otherwise
            ``$XDG_STATE_HOME/cinderlib`` (``~/.local/state/cinderlib``);
            nothing is written to the current directory.
        """
        with _runtime.lock:
            state_path = cinder_config_params.pop('state_path', None)
            options = GlobalOptions(
                root_helper=validation.text(root_helper, 'root_helper'),
                disable_logs=bool(disable_logs),
                non_uuid_ids=bool(non_uuid_ids),
                output_all_backend_info=bool(output_all_backend_info),
                serialize_secrets=bool(serialize_secrets),
                project_id=validation.text(
                    project_id, 'project_id') or 'cinderlib',
                user_id=validation.text(user_id, 'user_id') or 'cinderlib',
                fail_on_missing_backend=bool(fail_on_missing_backend),
                host=validation.text(host, 'host') or socket.gethostname(),
                state_path=os.path.abspath(
                    state_path or directories.default_state_path()),
                file_locks_path=file_locks_path and os.path.abspath(
                    validation.text(file_locks_path, 'file_locks_path')),
                coordination_backend_url=validation.text(
                    coordination_backend_url,
                    'coordination_backend_url') or None,
                cinder_options=cinder_config_params)
            previous = _runtime.state.options
            _runtime.state.options = options
            try:
                _lock_directories(options)
                connectors.configure_privsep(options.root_helper)
                # A coordination backend is reached now, so that a wrong URL
                # fails here rather than at the first backend.
                if (cinder_config_params or cinder_config.is_loaded() or
                        options.coordination_backend_url):
                    _apply_cinder_options()
                cls.set_persistence(persistence_config)
            except Exception:
                # Rejected settings leave the previous ones in force.
                _runtime.state.options = previous
                if previous is not None:
                    connectors.configure_privsep(previous.root_helper)
                if previous is not None and cinder_config.is_loaded():
                    _apply_cinder_options()
                raise
            logs.set_library_logs(not disable_logs)
            if suppress_requests_ssl_warnings:
                _suppress_ssl_warnings()

    @classmethod
    def global_options(cls) -> GlobalOptions:
        return _runtime.options()

    @classmethod
    def set_persistence(
            cls, persistence_config: Optional[dict[str, Any]]) -> None:
        """Switch the persistence plugin (see ``setup``)."""
        plugin = persistence_loader.setup(persistence_config)
        with _runtime.lock:
            _runtime.state.persistence = plugin
            for backend in Backend.backends.values():
                cinder_drivers.use_db(backend.driver, plugin.db)

    # -- configuration and stats ----------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The backend as serialized: its name, or its whole configuration
        with ``output_all_backend_info`` (secrets masked unless
        ``serialize_secrets``)."""
        options = self.global_options()
        if not options.output_all_backend_info:
            return {'volume_backend_name': self.id}
        secrets = set() if options.serialize_secrets else (
            self._config.secret_names())
        config = {key: SECRET_PLACEHOLDER if key in secrets else value
                  for key, value in self._driver_cfg.items()}
        config['volume_backend_name'] = self.id
        return config

    @property
    def config_text(self) -> str:
        """``config`` as JSON text."""
        if not self.global_options().output_all_backend_info:
            return self._name_text
        return jsontext.dumps(self.config)

    def _complete_stats(
            self, stats: Optional[dict[str, Any]]) -> dict[str, Any]:
        stats = dict(stats or {})
        if not stats.get('pools'):
            pool = {key: value for key, value in stats.items()
                    if key != 'pools'}
            pool['pool_name'] = self.id
            stats['pools'] = [pool]
        return stats

    def stats(self, refresh: bool = False) -> dict[str, Any]:
        """The driver's stats; one pool named after the backend if it
        reports none."""
        if refresh:
            self._stats = self._complete_stats(
                self.driver.get_volume_stats(refresh=True))
        return self._stats

    @property
    def pool_names(self) -> tuple[str, ...]:
        return tuple(pool['pool_name'] for pool in self._stats['pools'])

    @property
    def availability_zone(self) -> str:
        return cinder_config.availability_zone()

    def check_pool_name(self, pool_name: Optional[str]) -> str:
        """The pool to use: ``pool_name`` if it exists, else the first."""
        if pool_name is None:  # every new volume's, unless given
            return cast(str, self._stats['pools'][0]['pool_name'])
        pools = self.pool_names
        if pool_name not in pools:
            raise exception.InvalidArgument(
                'pool_name', f'{pool_name!r} is not a pool of backend '
                             f'{self.id!r} (pools: {", ".join(pools)})')
        return pool_name

    # -- volumes --------------------------------------------------------------
    @property
    def volumes(self) -> list[Volume]:
        """This backend's volumes, from persistence."""
        return Backend.persistence.get_volumes(backend_name=self.id)

    def volumes_filtered(self, volume_id: Optional[str] = None,
                         volume_name: Optional[str] = None) -> list[Volume]:
        return Backend.persistence.get_volumes(
            volume_id=volume_id, volume_name=volume_name,
            backend_name=self.id)

    def refresh(self) -> None:
        """Refresh the stats from the driver."""
        self.stats(refresh=True)

    def create_volume(self, size: float, name: str = '',
                      description: str = '', bootable: bool = False,
                      **kwargs: Any) -> Volume:
        """Create a volume of ``size`` GiB (a float is rounded up to a
        whole GiB).

        ``kwargs`` may hold ``pool_name``, ``extra_specs``, ``qos_specs``,
        ``id``, ``metadata``, ``multiattach`` and other Cinder volume
        fields (see ``Volume``).  An ``id`` that a stored volume has is
        refused (``AlreadyExists``) before anything is changed.
        """
        # Given only when not the defaults a new volume has anyway: checking
        # them is a good part of the time of making its object.
        if name != '':
            kwargs['name'] = name
        if description != '':
            kwargs['description'] = description
        if bootable is not False:
            kwargs['bootable'] = bootable
        return Volume(self, size=size, **kwargs).create()

    # -- adopting what exists on the storage ----------------------------------
    def manage_existing(self, existing_ref: dict[str, Any],
                        name: Optional[str] = None,
                        **kwargs: Any) -> Volume:
        """Adopt a volume that exists on the storage, by the driver's
        reference (``{'source-name': NAME}`` or ``{'source-id': ID}``); it
        then is a volume like any other, of the size the driver reports.
        ``kwargs`` are ``create_volume``'s but ``size``.  A reference this
        library already manages raises ``AlreadyManaged``, a driver that
        cannot adopt ``NotSupported``, both before anything changes.  See
        :mod:`cinderlib.objects.adoption`."""
        if 'size' in kwargs:
            raise exception.InvalidArgument(
                'size', 'an adopted volume has the size the driver reports')
        adoption.require_volume_support(self)
        volume = Volume(self, name=name or '', **kwargs)
        return adoption.manage_volume(volume, existing_ref)

    def list_manageable_volumes(
            self, marker: Any = None, limit: int = 1000, offset: int = 0,
            sort_keys: Optional[list[str]] = None,
            sort_dirs: Optional[list[str]] = None) -> list[dict[str, Any]]:
        """What ``manage_existing`` could adopt: the driver's list of
        Cinder's manageable-volume dicts (``reference``, ``size``,
        ``safe_to_manage``, ``reason_not_safe``, ``cinder_id``,
        ``extra_info``), sorted by ``sort_keys`` (``'reference'``,
        ``'size'``) in ``sort_dirs`` (``'asc'``, ``'desc'``; by default
        by reference, descending, as Cinder's API), from the entry after
        the ``marker`` reference, skipping ``offset``, at most
        ``limit``."""
        return adoption.list_manageable(self, 'volume', marker, limit,
                                        offset, sort_keys, sort_dirs)

    def list_manageable_snapshots(
            self, marker: Any = None, limit: int = 1000, offset: int = 0,
            sort_keys: Optional[list[str]] = None,
            sort_dirs: Optional[list[str]] = None) -> list[dict[str, Any]]:
        """What ``Volume.manage_existing_snapshot`` could adopt, as
        ``list_manageable_volumes`` (each entry also has
        ``source_reference``, its volume's reference)."""
        return adoption.list_manageable(self, 'snapshot', marker, limit,
                                        offset, sort_keys, sort_dirs)

    def validate_connector(self, connector_dict: dict[str, Any]) -> None:
        """Raise if the driver cannot use this connector."""
        self.driver.validate_connector(validation.connector(connector_dict))

    def recover(self) -> list[dict[str, Any]]:
        """Settle operations that a process which died left unfinished on
        this backend's resources (see :mod:`cinderlib.recovery`): returns
        one ``{'resource', 'id', 'was', 'now'}`` per resource found."""
        return recovery.recover(self)

    def unload(self) -> None:
        """Remove this backend from the process (its volumes stay stored)."""
        with _runtime.lock:
            if _runtime.backends.get(self.id) is self:
                del _runtime.backends[self.id]
                cinder_drivers.release_driver(self.driver)
                self._config.clear()

    # -- serialization --------------------------------------------------------
    def to_json(self, dump: bool = False) -> dict[str, Any]:
        volumes = self.volumes
        if dump:
            self._load_children(volumes)
        return {'class': 'Backend', 'backend': self.config,
                'volumes': [v.json for v in volumes]}

    def _load_children(self, volumes: list[Volume]) -> None:
        """Load the volumes' snapshots and connections in two queries
        instead of two per volume."""
        pending = [v for v in volumes
                   if v._snapshots is None or v._connections is None]
        if not pending:
            return
        snapshots: dict[str, list[Snapshot]] = {}
        for snapshot in Backend.persistence.get_snapshots():
            snapshots.setdefault(snapshot.volume_id, []).append(snapshot)
        connections: dict[str, list[Connection]] = {}
        for connection in Backend.persistence.get_connections():
            connections.setdefault(connection.volume_id, []).append(
                connection)
        for volume in pending:
            volume._set_children(snapshots.get(volume.id, []),
                                 connections.get(volume.id, []))

    @property
    def json(self) -> dict[str, Any]:
        return self.to_json()

    def to_jsons(self, dump: bool = False) -> str:
        volumes = self.volumes
        if dump:
            self._load_children(volumes)
        return jsontext.compose((
            ('class', jsontext.dumps('Backend')),
            ('backend', self.config_text),
            ('volumes', jsontext.array(volume.to_jsons()
                                       for volume in volumes))))

    @property
    def jsons(self) -> str:
        return self.to_jsons()

    @property
    def dump(self) -> dict[str, Any]:
        return self.to_json(dump=True)

    @property
    def dumps(self) -> str:
        return self.to_jsons(dump=True)

    @classmethod
    def load(cls, json_src: Any, save: bool = False) -> Any:
        return serialization.load(json_src, save)

    @classmethod
    def load_backend(cls, backend_data: dict[str, Any]
                     ) -> Backend | UnloadedBackend:
        """The loaded backend a serialized ``backend`` entry names."""
        # Only Backend instances are registered.
        return cast('Backend | UnloadedBackend',
                    serialization.backend_for(backend_data))

    @classmethod
    def list_supported_drivers(
            cls, output_version: int = 1) -> dict[str, dict[str, Any]]:
        return drivers_listing.list_supported_drivers(output_version)


def _apply_cinder_options() -> None:
    """Push ``setup()``'s Cinder settings into oslo.config (loads Cinder)."""
    options = _runtime.options()
    cinder_config.load()
    db_shim.install_db_api(lambda: _runtime.persistence().db)
    cinder_config.set_default_options(
        {'state_path': options.state_path, 'host': options.host,
         **options.cinder_options})
    lock_path, own_locks, field = _lock_directories(options)
    cinder_config.set_group_option('oslo_concurrency', 'lock_path', lock_path)
    url = options.coordination_backend_url
    distributed = cinder_drivers.start_coordination(
        url or f'file://{own_locks}')
    locks.configure(own_locks, distributed if url else None, field, url or '')


def _lock_directories(options: GlobalOptions) -> tuple[str, str, str]:
    """The lock directories, made if missing and checked private (see
    :mod:`cinderlib.directories`): oslo.concurrency's ``lock_path``, and
    the ``cinderlib-locks`` directory in it, of cinderlib's lock files and
    of Cinder's coordinator when no coordination backend is given; with
    the setting they come from."""
    if options.state_path == directories.default_state_path():
        directories.private_directory(options.state_path, 'state_path')
    field = 'file_locks_path' if options.file_locks_path else 'state_path'
    lock_path = directories.private_directory(
        options.file_locks_path or options.state_path, field)
    own_locks = directories.private_directory(
        os.path.join(lock_path, 'cinderlib-locks'), field,
        follow_symlinks=False)
    return lock_path, own_locks, field


def _suppress_ssl_warnings() -> None:
    try:
        # lazy: urllib3 is not a dependency of cinderlib (drivers bring it)
        import urllib3
    except ImportError:
        return
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


# The first use of the process state before any setup() runs it.
_runtime.on_first_use(Backend.global_setup)
