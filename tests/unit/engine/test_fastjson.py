"""Engine answers read with orjson, and what orjson refuses read by the standard library."""

from __future__ import annotations

import pytest

from logalert.engine import fastjson

ANSWER = '{"hits":{"hits":[{"_index":"logs-1","_id":"a","_source":{"msg":"ü ERROR","n":1.5,"ok":true,"x":null}}]}}'


def test_answers_parse_as_the_standard_library_does():
    assert fastjson.loads(ANSWER) == {"hits": {"hits": [{"_index": "logs-1", "_id": "a",
                                                         "_source": {"msg": "ü ERROR", "n": 1.5, "ok": True, "x": None}}]}}
    assert fastjson.loads(ANSWER.encode()) == fastjson.loads(ANSWER)


def test_an_integer_beyond_64_bits_is_read_by_the_standard_library():
    assert fastjson.loads('{"trace_id": 340282366920938463463374607431768211455}') == {
        "trace_id": 340282366920938463463374607431768211455}


def test_the_clients_serializers_read_with_it_and_refuse_garbage_their_own_way():
    from elastic_transport import SerializationError as EsError
    from opensearchpy.exceptions import SerializationError as OsError

    os_json = fastjson.opensearch_serializer()
    assert os_json.loads(ANSWER)["hits"]["hits"][0]["_id"] == "a"
    with pytest.raises(OsError):
        os_json.loads("{not json")
    for es_json in fastjson.elasticsearch_serializers().values():
        assert es_json.loads(ANSWER.encode())["hits"]["hits"][0]["_id"] == "a"
        with pytest.raises(EsError):
            es_json.loads(b"{not json")
        assert es_json.dumps({"a": 1}) == b'{"a":1}'


def test_a_long_digit_run_inside_a_string_still_parses():
    assert fastjson.loads(b'{"id": "98765432109876543210123", "n": 18446744073709551615}') == {
        "id": "98765432109876543210123", "n": 18446744073709551615}
