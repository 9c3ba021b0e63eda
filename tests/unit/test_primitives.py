"""Cinder object primitives: the safe and the fast (trusted) rebuild."""

import copy
import datetime
import json
import re

import pytest

from cinderlib import exception
from cinderlib import jsontext
from cinderlib import validation
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.cinder import primitives


def test_trusted_rebuild_equals_the_checked_one(backend, connector):
    volume = backend.create_volume(1, metadata={'m': '1'},
                                   extra_specs={'e': '2'},
                                   qos_specs={'q': '3'})
    volume.connect(connector)
    for ovo in (volume._ovo, volume.create_snapshot()._ovo,
                volume.connections[0]._ovo):
        primitive = cinder_ovo.to_primitive(ovo)
        fast = cinder_ovo.trusted_from_primitive(primitive, backend.context)
        safe = cinder_ovo.from_primitive(primitive, backend.context)
        assert cinder_ovo.to_primitive(fast) == cinder_ovo.to_primitive(
            safe) == primitive
        assert not fast.obj_what_changed()
        assert type(fast) is type(ovo)


def test_trusted_rebuild_tracks_metadata_changes(volume):
    primitive = cinder_ovo.to_primitive(volume._ovo)
    fast = cinder_ovo.trusted_from_primitive(primitive,
                                             volume.backend.context)
    fast.metadata['new'] = 'x'
    assert 'metadata' in fast.obj_what_changed()


def test_datetimes_keep_microseconds_and_timezone(volume):
    primitive = cinder_ovo.to_primitive(volume._ovo)
    fast = cinder_ovo.trusted_from_primitive(primitive,
                                             volume.backend.context)
    assert fast.created_at == volume.created_at
    assert fast.created_at.microsecond == volume.created_at.microsecond


def test_older_versions_become_this_cinders(volume):
    """A primitive of an older version (the retired library's, before
    Xena) builds this Cinder's objects, nested ones included."""
    primitive = cinder_ovo.to_primitive(volume._ovo)
    primitive['versioned_object.version'] = '1.8'
    del primitive['versioned_object.data']['use_quota']
    primitive['versioned_object.data']['volume_type'][
        'versioned_object.version'] = '1.2'
    ovo = cinder_ovo.from_primitive(primitive, volume.backend.context)
    cinder_ovo.fill_unset_fields(ovo)
    again = cinder_ovo.to_primitive(ovo)
    assert again['versioned_object.version'] == volume._ovo.VERSION
    assert again['versioned_object.data']['volume_type'][
        'versioned_object.version'] == volume._ovo.volume_type.VERSION
    assert again['versioned_object.data']['use_quota'] is True


def nested(levels):
    """A dict nesting ``levels`` levels of dicts."""
    value = {}
    for _ in range(levels - 1):
        value = {'a': value}
    return value


def test_values_too_deep_to_serialize_are_refused(volume, connector):
    """Not a RecursionError: a clear error naming the field."""
    attachment = volume.connect(connector)._ovo
    limit = validation.MAX_NESTING
    attachment.connection_info = nested(limit)
    assert cinder_ovo.to_primitive(attachment)['versioned_object.data'][
        'connection_info'] == nested(limit)
    attachment.connection_info = nested(limit + 1)
    with pytest.raises(exception.InvalidArgument) as error:
        cinder_ovo.to_primitive(attachment)
    assert 'connection_info' in str(error.value)
    cycle = {}
    cycle['self'] = cycle
    attachment.connection_info = cycle
    with pytest.raises(exception.InvalidArgument):
        cinder_ovo.to_primitive(attachment)


def _objects_with_every_kind_of_field(backend, connector):
    volume = backend.create_volume(1, metadata={'m': '1'},
                                   extra_specs={'e': '2'},
                                   qos_specs={'q': '3'})
    connection = volume.connect(connector)
    snapshot = volume.create_snapshot()
    return volume, connection, snapshot


def test_primitive_text_is_that_of_the_primitive(backend, connector):
    """Made without copies (to be encoded at once), the same text."""
    objects = _objects_with_every_kind_of_field(backend, connector)
    for ovo in [obj._ovo for obj in objects] + [
            objects[0]._ovo.volume_type]:
        primitive = cinder_ovo.to_primitive(ovo)
        # Dates left as they are (orjson writes them as isoformat()).
        assert _dates_as_text(cinder_ovo.to_primitive(
            ovo, copy=False)) == primitive
        assert cinder_ovo.to_primitive_text(ovo) == jsontext.dumps(
            primitive)
    for obj in objects:
        assert obj.dumps == jsontext.dumps(obj.dump)
        assert obj.jsons == jsontext.dumps(obj.json)
        assert obj.to_jsons() == jsontext.dumps(obj.to_json())


def _dates_as_text(value):
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


@pytest.mark.parametrize('codec', ['orjson', 'json'])
@pytest.mark.parametrize('offset', [
    {}, {'hours': 5, 'minutes': 30}, {'hours': -5, 'seconds': 7},
    {'hours': 1, 'seconds': 1, 'microseconds': 3}])
@pytest.mark.parametrize('microsecond', [0, 1, 999999])
def test_dates_are_written_as_isoformat_writes_them(
        volume, monkeypatch, codec, offset, microsecond):
    """Whichever the codec, dates of any zone and precision: the text of
    the primitive with its dates as text (orjson writes dates in UTC
    itself, and would cut an offset's seconds)."""
    if codec == 'json':
        monkeypatch.setattr(jsontext, '_orjson', None)
    zone = datetime.timezone(datetime.timedelta(**offset)) if offset else (
        datetime.timezone.utc)
    for field in ('created_at', 'launched_at'):
        setattr(volume._ovo, field, datetime.datetime(
            2026, 11, 26, 10, 9, 52, microsecond, zone))
    volume._ovo.scheduled_at = datetime.datetime(1, 1, 1, microsecond=1)
    text = cinder_ovo.to_primitive_text(volume._ovo)
    assert text == jsontext.dumps(cinder_ovo.to_primitive(volume._ovo))
    written = json.loads(text)['versioned_object.data']
    assert written['created_at'] == volume._ovo.created_at.isoformat()
    assert written['scheduled_at'] == '0001-01-01T00:00:00.000001+00:00'
    assert volume.dumps == jsontext.dumps(volume.dump)


def test_primitives_share_no_dict_with_the_object(backend, connector):
    volume, connection, _ = _objects_with_every_kind_of_field(backend,
                                                              connector)
    data = volume.json['ovo']['versioned_object.data']
    data['metadata']['m'] = 'changed'
    data['volume_type']['versioned_object.data']['extra_specs']['e'] = 'x'
    data['volume_attachment']['versioned_object.data']['objects'][0][
        'versioned_object.data']['connection_info']['conn']['data'][
            'x'] = 'y'
    assert volume.metadata == {'m': '1'}
    assert volume._ovo.volume_type.extra_specs == {'e': '2'}
    assert 'x' not in connection.connection_info['conn']['data']


def test_a_cycle_in_a_field_is_refused_by_every_serialization(
        volume, connector):
    connection = volume.connect(connector)
    cycle: dict = {}
    cycle['self'] = cycle
    connection.connection_info['conn']['data']['x'] = cycle
    for serialize in (lambda: connection.jsons, lambda: volume.dumps,
                      lambda: connection.json, lambda: volume.dump,
                      lambda: cinder_ovo.to_primitive_text(connection._ovo)):
        with pytest.raises(exception.InvalidArgument) as error:
            serialize()
        assert 'connection_info: nests more than' in str(error.value)


def test_values_are_checked_whatever_shapes_were_seen(volume, connector):
    """What the keys and the types of values tell is checked once per
    shape of data; values are checked every time."""
    volume.connect(connector)
    good = volume.json['ovo']
    primitives.check_primitive(good, 'Volume')
    fields = good['versioned_object.data']
    attachment = fields['volume_attachment']['versioned_object.data'][
        'objects'][0]['versioned_object.data']
    for where, key, value, error in (
            (fields, 'created_at', 'yesterday', 'created_at: must be an ISO'),
            (fields, 'attach_status', 'glued', 'attach_status: must be one'),
            (fields, 'metadata', {'k': 1}, "metadata['k']: must be a str"),
            (fields, 'metadata', {'k': None}, "metadata['k']: must not be"),
            (fields, 'status', 'x' * 1000, 'status'),
            (attachment, 'connector', {'host': {'a': [None]}}, None)):
        bad = copy.deepcopy(good)
        target = bad['versioned_object.data'] if where is fields else (
            bad['versioned_object.data']['volume_attachment'][
                'versioned_object.data']['objects'][0][
                    'versioned_object.data'])
        target[key] = value
        if error is None:  # free-form: any JSON value
            primitives.check_primitive(bad, 'Volume')
            continue
        with pytest.raises(exception.InvalidSerializedData,
                           match=re.escape(error)):
            primitives.check_primitive(bad, 'Volume')
    primitives.check_primitive(good, 'Volume')


def test_errors_name_the_first_wrong_field_whatever_was_seen(volume):
    """The first of several wrong fields is reported, as it was before
    shapes were remembered: first data of that shape or not."""
    bad = copy.deepcopy(volume.json['ovo'])
    fields = bad['versioned_object.data']
    fields['attach_status'] = 'glued'  # its check comes first
    fields['metadata'] = None  # a null where none may be
    for _ in range(2):
        with pytest.raises(exception.InvalidSerializedData,
                           match='attach_status'):
            primitives.check_primitive(bad, 'Volume')


def test_errors_name_where_the_value_is_whatever_was_seen(volume,
                                                          connector):
    """Data of one shape found at several places (a volume's
    connections): an error names the place of the wrong value, whichever
    place was checked before."""
    volume.connect(connector)
    volume.connect(dict(connector, host='other-node'))
    good = volume.json['ovo']
    primitives.check_primitive(good, 'Volume')
    for index in (1, 0, 1):
        bad = copy.deepcopy(good)
        bad['versioned_object.data']['volume_attachment'][
            'versioned_object.data']['objects'][index][
                'versioned_object.data']['attach_time'] = 'yesterday'
        with pytest.raises(exception.InvalidSerializedData) as error:
            primitives.check_primitive(bad, 'Volume')
        assert error.value.reason.startswith(
            f'volume_attachment.objects[{index}].attach_time: must be an '
            f'ISO 8601 date')
        primitives.check_primitive(good, 'Volume')


def test_shapes_remembered_are_bounded(volume):
    primitive = copy.deepcopy(volume.json['ovo'])
    fields = primitive['versioned_object.data']
    for number in range(primitives._MAX_SHAPES + 10):
        fields[f'unknown_{number}'] = number  # a new shape each time
        primitives.check_primitive(primitive, 'Volume')
    assert 0 < len(primitives._class_info('Volume').shapes) <= (
        primitives._MAX_SHAPES)


def test_objects_with_other_fields_set_serialize_their_own(backend):
    """The primitive holds the fields an object has set, whatever the
    objects of its class serialized before had set (``_Plan`` reads the
    fields it last saw set at once)."""
    plain, other = backend.create_volume(1), backend.create_volume(1)
    other._ovo.display_name = 'other'
    cinder_ovo.forget_field(other._ovo, 'display_description')
    assert not cinder_ovo.is_set(plain._ovo, 'snapshots')
    snapshots = cinder_ovo.objects_module().SnapshotList(objects=[])
    with_snapshots = backend.create_volume(1)
    with_snapshots._ovo.snapshots = snapshots
    for ovo in (plain._ovo, other._ovo, with_snapshots._ovo, plain._ovo,
                with_snapshots._ovo, other._ovo, other._ovo):
        data = cinder_ovo.to_primitive(ovo)['versioned_object.data']
        expected = {name for name in ovo.fields
                    if cinder_ovo.is_set(ovo, name)}
        assert set(data) == expected
        assert data['id'] == ovo.id
        assert data['display_name'] == ovo.display_name
        assert list(data) == [name for name in ovo.fields
                              if name in expected]
