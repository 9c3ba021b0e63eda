"""The db plugin's prepared statements store what SQLAlchemy's ``execute``
stores, and fail with the errors it raises, on every database."""

import datetime

import pytest
import sqlalchemy
from sqlalchemy import bindparam, exc as sa_exc

from cinderlib.persistence import dbms
from cinderlib.persistence import schema
from cinderlib.persistence.prepared import Prepared

KINDS = ['sqlite', 'postgresql', 'mysql']
TABLE = schema.connections


def values(row_id, **changes):
    return dict({
        'id': row_id, 'backend_name': 'b', 'volume_id': 'v',
        'attached_host': 'h\N{SNOWMAN}', 'status': 'attached',
        'created_at': datetime.datetime(2026, 11, 26, 1, 2, 3, 456789),
        'deleted': False, 'deleted_at': None, 'version': 1,
        'data': '{"x": 1}'}, **changes)


@pytest.fixture(params=KINDS)
def engine(request, empty_database):
    plugin = dbms.DBPersistence(empty_database(request.param))
    yield plugin.engine
    plugin.engine.dispose()


def stored(engine, row_id):
    """The row as the database holds it, read as text (no type
    conversion on the way back)."""
    columns = [sqlalchemy.cast(column, sqlalchemy.Text)
               for column in TABLE.c]
    with engine.connect() as conn:
        return tuple(conn.execute(sqlalchemy.select(*columns).where(
            TABLE.c.id == row_id)).one())


def test_rows_are_stored_as_execute_stores_them(engine):
    insert = Prepared(TABLE.insert())
    update = Prepared(TABLE.update().where(
        TABLE.c.id == bindparam('b_id'),
        TABLE.c.version == bindparam('b_version')))
    state = Prepared(TABLE.select().with_only_columns(
        TABLE.c.version, TABLE.c.deleted).where(
            TABLE.c.id == bindparam('b_id')))
    with engine.begin() as conn:
        assert insert.rowcount(conn, values('prepared')) == 1
        conn.execute(TABLE.insert(), values('core'))
    assert stored(engine, 'prepared')[1:] == stored(engine, 'core')[1:]
    changes = {'deleted': True, 'version': 2,
               'deleted_at': datetime.datetime(2026, 11, 27)}
    with engine.begin() as conn:
        assert update.rowcount(conn, dict(
            values('prepared', **changes), b_id='prepared',
            b_version=1)) == 1
        conn.execute(TABLE.update().where(TABLE.c.id == 'core'),
                     values('core', **changes))
        # An outdated version changes nothing.
        assert update.rowcount(conn, dict(
            values('prepared'), b_id='prepared', b_version=1)) == 0
    assert stored(engine, 'prepared')[1:] == stored(engine, 'core')[1:]
    with engine.connect() as conn:
        version, deleted = state.first(conn, {'b_id': 'prepared'})
        assert version == 2 and deleted
        assert state.first(conn, {'b_id': 'missing'}) is None


def test_errors_are_those_of_execute(engine):
    insert = Prepared(TABLE.insert())
    with engine.begin() as conn:
        insert.rowcount(conn, values('twice'))
    errors = []
    for run in (lambda conn: insert.rowcount(conn, values('twice')),
                lambda conn: conn.execute(TABLE.insert(), values('twice'))):
        with pytest.raises(sa_exc.DBAPIError) as raised:
            with engine.begin() as conn:
                run(conn)
        errors.append(raised.value)
    assert type(errors[0]) is type(errors[1]) is sa_exc.IntegrityError
    assert type(errors[0].orig) is type(errors[1].orig)
    assert not errors[0].connection_invalidated


def test_a_closed_sqlite_connection_is_invalidated(tmp_path):
    plugin = dbms.DBPersistence(f'sqlite:///{tmp_path}/closed.sqlite')
    state = Prepared(TABLE.select().with_only_columns(TABLE.c.version).where(
        TABLE.c.id == bindparam('b_id')))
    with plugin.engine.connect() as conn:
        conn.connection.dbapi_connection.close()
        with pytest.raises(sa_exc.DBAPIError) as raised:
            state.first(conn, {'b_id': 'x'})
        assert raised.value.connection_invalidated
        assert conn.invalidated
    assert dbms._unavailable(raised.value)
    with plugin.engine.connect() as conn:  # a new connection
        assert state.first(conn, {'b_id': 'x'}) is None
    plugin.engine.dispose()


def test_statements_it_cannot_compile_once_run_through_execute(engine):
    """Parameters rendered when executed (an expanding IN) and values not
    given (a bound literal) leave the statement to ``execute``."""
    with engine.begin() as conn:
        conn.execute(TABLE.insert(), values('one'))
    expanding = Prepared(TABLE.select().with_only_columns(
        TABLE.c.version).where(TABLE.c.id.in_(
            bindparam('ids', expanding=True))))
    literal = Prepared(TABLE.update().where(TABLE.c.id == 'one'))
    with engine.begin() as conn:
        assert tuple(expanding.first(conn, {'ids': ['x', 'one']})) == (1,)
        assert literal.rowcount(conn, {'version': 5}) == 1
        assert tuple(expanding.first(conn, {'ids': ['one']})) == (5,)


def test_all_rows_are_those_execute_returns(engine):
    """``all``: every row, as tuples of what ``execute`` returns, in the
    query's order; through ``execute`` too when it cannot compile."""
    with engine.begin() as conn:
        for number in (3, 1, 2):
            conn.execute(TABLE.insert(), values(
                f'row-{number}', version=number, volume_id=f'v{number % 2}'))
    query = TABLE.select().with_only_columns(
        TABLE.c.id, TABLE.c.version, TABLE.c.attached_host).order_by(
            TABLE.c.version)
    by_volume = Prepared(query.where(TABLE.c.volume_id == bindparam('v')))
    expanding = Prepared(query.where(TABLE.c.id.in_(
        bindparam('ids', expanding=True))))
    with engine.connect() as conn:
        expected = [tuple(row) for row in conn.execute(
            query.where(TABLE.c.volume_id == 'v1'))]
        rows = by_volume.all(conn, {'v': 'v1'})
        assert rows == expected == [('row-1', 1, 'h\N{SNOWMAN}'),
                                    ('row-3', 3, 'h\N{SNOWMAN}')]
        assert all(type(row) is tuple for row in rows)
        assert by_volume.all(conn, {'v': 'none'}) == []
        assert expanding.all(conn, {'ids': ['row-2', 'row-3']}) == [
            ('row-2', 2, 'h\N{SNOWMAN}'), ('row-3', 3, 'h\N{SNOWMAN}')]
