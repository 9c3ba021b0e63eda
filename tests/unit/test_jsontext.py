"""jsontext's codecs: the same values and text as the json module, with
the fast codecs (orjson, msgspec) installed or not.

``loads`` must give what ``json.loads`` gives (same types: an integer
beyond 64 bits stays an integer, ``NaN`` a float) or fail as it does;
``dumps_acyclic`` must write text that ``json.loads`` reads as it reads
``json.dumps``'s (``NaN`` stays ``NaN``, not ``null``), ASCII only, and
the same text when the value holds no float.  Each test runs with the
json module alone and with the fast codecs.
"""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cinderlib
from cinderlib import jsontext
from tests import fuzzing

orjson = pytest.importorskip('orjson')
msgspec = pytest.importorskip('msgspec')

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'


@pytest.fixture(params=['fast', 'json'], autouse=True)
def codec(request, monkeypatch):
    if request.param == 'json':
        monkeypatch.setattr(jsontext, '_orjson', None)
        monkeypatch.setattr(jsontext, '_decode', None)
    return request.param


def same(a, b):
    """Equal, with the same types all the way down (1 is not 1.0 or
    True), NaN equal to NaN and -0.0 not 0.0."""
    if type(a) is not type(b) and not (
            isinstance(a, float) and isinstance(b, float)):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


texts = st.one_of(st.text(max_size=12),
                  st.sampled_from(['\ud800', 'a\udfffb', 'é', '☃', '\x00',
                                   '\x7f', '"', '\\', '\n']))
numbers = st.one_of(
    st.integers(), st.integers(-2 ** 70, 2 ** 70),
    st.sampled_from([2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63,
                     -2 ** 63 - 1, 10 ** 18, 10 ** 19, -10 ** 19]),
    st.floats(), st.sampled_from([0.0, -0.0, 1e-7, 1e16, 1e308,
                                  5e-324, math.inf, -math.inf, math.nan]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(texts, children, max_size=4)),
    max_leaves=20)


def mark(value):
    """``value`` with its floats that are not finite marked, as the
    library holds them (``jsontext.NonFinite``)."""
    if isinstance(value, dict):
        return {key: mark(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mark(item) for item in value]
    if isinstance(value, float):
        return jsontext.finite_or_marked(value)
    return value


@fuzzing.FUZZ_SETTINGS
@given(json_values)
def test_loads_gives_what_json_gives(value):
    text = json.dumps(value)
    loaded = jsontext.loads(text)
    assert same(loaded, json.loads(text))
    assert same(jsontext.loads(text.encode()), loaded)


@fuzzing.FUZZ_SETTINGS
@given(st.data(), json_values)
def test_damaged_text_fails_or_loads_as_json_does(data, value):
    text = fuzzing.mutated_text(data, json.dumps(value))
    if data.draw(st.booleans()):  # digits, numbers' characters, spaces
        position = data.draw(st.integers(0, len(text)))
        text = text[:position] + data.draw(st.text(
            alphabet='0123456789.eE+- \t', max_size=25)) + text[position:]
    assert_loads_as_json_does(text)


def assert_loads_as_json_does(text):
    """The value ``json.loads`` gives, or the same error."""
    try:
        expected = json.loads(text)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)):
            jsontext.loads(text)
    else:
        assert same(jsontext.loads(text), expected)


@fuzzing.FUZZ_SETTINGS
@given(json_values)
def test_dumps_acyclic_writes_what_json_reads_back_the_same(value):
    marked = mark(value)
    text = jsontext.dumps_acyclic(marked)
    assert text.isascii()
    assert same(json.loads(text), json.loads(json.dumps(value)))
    assert same(jsontext.loads(text), json.loads(json.dumps(value)))
    if not any('e' in repr(number) for number in floats(value)):
        # No float written with an exponent: the same text.
        assert text == jsontext.dumps(value)


@fuzzing.FUZZ_SETTINGS
@given(json_values, st.sampled_from(['{}', '"x"', '{"a":[1,"\\u00e9"]}']))
def test_compose_acyclic_writes_compose_of_dumps_acyclic(value, text):
    """In one pass (orjson) or in pieces (json, or text orjson would not
    write as dumps_acyclic does): the same text."""
    marked = mark(value)
    members = (('class', '"Volume"'), ('backend', text))
    composed = jsontext.compose_acyclic(members, 'ovo', marked)
    assert composed == jsontext.compose(
        members + (('ovo', jsontext.dumps_acyclic(marked)),))
    assert list(json.loads(composed)) == ['class', 'backend', 'ovo']


def floats(value):
    """The floats ``value`` holds, at any depth."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from floats(item)
    elif isinstance(value, float):
        yield value


@pytest.mark.parametrize('text', [
    '"\\ud800"', '{"\\udfff":1}', '[-1e400,1e999,NaN,-Infinity]',
    '{"a":1,"a":2}', '-0', '-0.0', '1E5', '9' * 400,
    '{"a":"\\u00e9"}'.encode('utf-16'), '{"a":2}'.encode('utf-32-le'),
    b'\xef\xbb\xbf{"a":3}', '\ufeff{}', b'{"a":"\xff"}', '[1,]', ''])
def test_what_msgspec_refuses_is_read_as_json_reads_it(text):
    """Lone surrogates, numbers beyond the floats' range, other encodings:
    the same value as json's, or the same error."""
    assert_loads_as_json_does(text)


def test_integers_beyond_64_bits_and_nan_are_kept():
    text = '{"big":123456789012345678901234567890,"nan":NaN,"inf":1e999}'
    loaded = jsontext.loads(text)
    assert loaded['big'] == 123456789012345678901234567890
    assert type(loaded['big']) is int
    assert math.isnan(loaded['nan']) and loaded['inf'] == math.inf
    assert jsontext.dumps_acyclic(loaded) == (
        '{"big":123456789012345678901234567890,"nan":NaN,'
        '"inf":Infinity}')


@pytest.mark.parametrize('added', [
    {'nan': math.nan, 'inf': -math.inf, 'small': 1e-7},
    {'big': 2 ** 70}])
def test_what_drivers_return_survives_dumps_and_load(
        tmp_path, connector, added):
    """A connection whose connection_info holds what orjson alone would
    lose (NaN written as null) or change (an integer beyond 64 bits read
    as a float): serialized and loaded back the same."""
    cinderlib.setup(state_path=str(tmp_path))
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path))
    volume = backend.create_volume(1)
    connection = volume.connect(connector)
    connection._ovo.connection_info['conn']['data'].update(added)
    for text in (volume.dumps, connection.dumps, volume.jsons):
        assert ('NaN' in text and '-Infinity' in text) == ('nan' in added)
        loaded = cinderlib.load(text)
        loaded = loaded if isinstance(loaded, cinderlib.Connection) else (
            loaded.connections[0])
        data = loaded.connection_info['conn']['data']
        assert same({key: data[key] for key in added}, added)
        assert loaded.dumps == connection.dumps
