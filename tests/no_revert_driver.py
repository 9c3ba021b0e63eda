"""The file driver without ``revert_to_snapshot``, as many Cinder drivers
are: reverting through it takes Cinder's generic way (a temporary volume
copied onto the volume), with real bytes."""

from cinderlib.drivers import file


class FileDriverWithoutRevert(file.FileVolumeDriver):
    def revert_to_snapshot(self, context, volume, snapshot):
        raise NotImplementedError()

    def snapshot_revert_use_temp_snapshot(self):
        return True  # Cinder's default: a backup snapshot first


DRIVER = f'{__name__}.FileDriverWithoutRevert'
