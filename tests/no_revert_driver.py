"""The file and RBD drivers without ``revert_to_snapshot``, as many Cinder
drivers are: reverting through them takes Cinder's generic way (a
temporary volume copied onto the volume), with real bytes."""

from cinder.volume.drivers import rbd

from cinderlib.drivers import file


class FileDriverWithoutRevert(file.FileVolumeDriver):
    def revert_to_snapshot(self, context, volume, snapshot):
        raise NotImplementedError()

    def snapshot_revert_use_temp_snapshot(self):
        return True  # Cinder's default: a backup snapshot first


DRIVER = f'{__name__}.FileDriverWithoutRevert'


class RBDDriverWithoutRevert(rbd.RBDDriver):
    def revert_to_snapshot(self, context, volume, snapshot):
        raise NotImplementedError()


RBD_DRIVER = f'{__name__}.RBDDriverWithoutRevert'
