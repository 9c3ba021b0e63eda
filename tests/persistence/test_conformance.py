"""The conformance suite run against every built-in plugin and a custom one.

PostgreSQL and MariaDB come from tests/persistence/conftest.py, which
starts real servers.
"""

import pytest

from cinderlib.persistence import base
from cinderlib.persistence.memory import MemoryPersistence
from cinderlib.persistence.testing import DurablePersistenceConformance
from cinderlib.persistence.testing import PersistenceConformance


class TestMemory(PersistenceConformance):
    @pytest.fixture
    def persistence_config(self):
        return {'storage': 'memory'}


class TestMemoryDB(PersistenceConformance):
    @pytest.fixture
    def persistence_config(self):
        return {'storage': 'memory_db'}


class TestSQLiteFile(DurablePersistenceConformance):
    @pytest.fixture
    def persistence_config(self, tmp_path):
        return {'storage': 'db',
                'connection': f'sqlite:///{tmp_path}/cinderlib.sqlite'}


class TestPostgreSQL(DurablePersistenceConformance):
    @pytest.fixture
    def persistence_config(self, postgresql_url):
        return {'storage': 'db', 'connection': postgresql_url}


class TestMariaDB(DurablePersistenceConformance):
    @pytest.fixture
    def persistence_config(self, mysql_url):
        return {'storage': 'db', 'connection': mysql_url}


class DictStore(MemoryPersistence):
    """A third-party style plugin, given by class: the memory plugin's
    behaviour, and a record of every base-class call it relied on."""

    def __init__(self, label='custom'):
        super().__init__()
        self.label = label


class TestCustomPlugin(PersistenceConformance):
    @pytest.fixture
    def persistence_config(self):
        return {'storage': DictStore, 'label': 'mine'}

    def test_it_is_the_custom_class(self, plugin):
        assert isinstance(plugin, DictStore)
        assert isinstance(plugin, base.PersistenceDriverBase)
        assert plugin.label == 'mine'
