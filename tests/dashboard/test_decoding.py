"""``dashboard.decoding``: stored results, meta and arguments read for people, never failing, never unpickled."""
import base64
import json
import pickle

import pytest

from dashboard import decoding
from dashboard.decoding import (
    ARGSREPR_MAXSIZE,
    PICKLE_CONTENT_TYPE,
    ResultRef,
    decode_stored,
    looks_truncated,
    parse_result_tuple,
    pretty,
    show_arguments,
    show_value,
    task_ids_in,
)
from tests.factories import group_ref, task_ref

JSON = ("application/json", "utf-8")
UNPICKLED = []


class RunsCodeWhenUnpickled:
    """Unpickling this calls ``UNPICKLED.append``: what a hostile stored row could do with any callable."""

    def __reduce__(self):
        return UNPICKLED.append, ("code ran",)


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def hostile_pickle():
    UNPICKLED.clear()
    yield b64(pickle.dumps(RunsCodeWhenUnpickled()))
    assert UNPICKLED == [], "stored pickle data was unpickled"


# --- decode_stored -------------------------------------------------------------


class TestDecodeStored:
    def test_nothing_stored_is_none_without_a_note(self):
        assert decode_stored(None, *JSON) == (None, "")

    def test_json_is_decoded_nested_as_it_is(self):
        stored = json.dumps({"items": [1, {"deep": [None, True, "é"]}], "n": 1.5})
        assert decode_stored(stored, *JSON) == ({"items": [1, {"deep": [None, True, "é"]}], "n": 1.5}, "")

    def test_json_in_base64_is_decoded_when_the_encoding_is_binary(self):
        assert decode_stored(b64(b'{"x": [1, 2]}'), "application/json", "binary") == ({"x": [1, 2]}, "")

    @pytest.mark.parametrize("encoding", [None, ""])
    def test_a_missing_encoding_is_read_as_utf8(self, encoding):
        assert decode_stored('["é"]', "application/json", encoding) == (["é"], "")

    def test_pickle_is_never_unpickled(self, hostile_pickle):
        value, note = decode_stored(hostile_pickle, PICKLE_CONTENT_TYPE, "binary")
        assert value is None
        assert note.startswith("Stored with pickle: not decoded") and "arbitrary code" in note

    @pytest.mark.parametrize("content_type,named", [("text/plain", "text/plain"), (None, "an unknown type"),
                                                    ("", "an unknown type")])
    def test_a_type_no_safe_serializer_reads_is_shown_as_stored(self, content_type, named):
        assert decode_stored("whatever", content_type, "utf-8") == (None, f"Stored as {named}: shown as stored.")

    def test_malformed_json_is_a_note_not_an_error(self):
        assert decode_stored('{"a": ', *JSON) == (
            None, "Could not be decoded as application/json (DecodeError): shown as stored.",
        )

    def test_base64_that_is_not_is_a_note(self):
        value, note = decode_stored("abc", "application/json", "binary")  # bad padding
        assert value is None and note.startswith("Could not be decoded as application/json (")

    def test_nesting_too_deep_for_the_parser_is_a_note(self):
        value, note = decode_stored("[" * 100_000 + "]" * 100_000, *JSON)
        assert value is None and note.startswith("Could not be decoded as application/json")

    def test_a_safe_serializer_whose_library_is_missing_is_a_note(self, monkeypatch):
        from kombu.exceptions import SerializerNotInstalled

        def not_installed(*args, **kwargs):
            raise SerializerNotInstalled("No decoder installed for application/x-yaml")

        monkeypatch.setattr(decoding, "loads", not_installed)
        assert decode_stored("a: 1", "application/x-yaml", "utf-8") == (
            None, "Could not be decoded as application/x-yaml (SerializerNotInstalled): shown as stored.",
        )


# --- pretty -----------------------------------------------------------------------


class TestPretty:
    def test_dicts_are_indented_with_sorted_keys_and_unicode_kept(self):
        assert pretty({"b": 1, "a": "é"}) == '{\n  "a": "\u00e9",\n  "b": 1\n}'

    def test_lists_keep_their_order(self):
        assert pretty([3, 1, 2]) == "[\n  3,\n  1,\n  2\n]"

    @pytest.mark.parametrize("value", [{1, 2}, b"\x00\x01", object(), {"nested": [{1}]}])
    def test_data_json_cannot_hold_is_none(self, value):
        assert pretty(value) is None

    def test_structures_too_deep_to_write_are_none(self):
        deep = []
        for _ in range(100_000):
            deep = [deep]
        assert pretty(deep) is None


# --- show_value ---------------------------------------------------------------------


class TestShowValue:
    def test_nothing_stored_says_so(self):
        shown = show_value(None, *JSON, limit=100)
        assert (shown.text, shown.note, shown.decoded) == ("", "Nothing stored.", False)

    def test_json_is_shown_indented_with_its_value(self):
        shown = show_value('{"sum": 3, "items": [1, 2]}', *JSON, limit=0)
        assert shown.pretty and shown.decoded and not shown.note and not shown.cut
        assert shown.value == {"sum": 3, "items": [1, 2]}
        assert shown.text == pretty({"sum": 3, "items": [1, 2]})

    def test_an_empty_string_result_is_a_value(self):
        shown = show_value('""', *JSON, limit=0)
        assert (shown.text, shown.value, shown.decoded) == ('""', "", True)

    def test_html_in_a_value_is_returned_as_text_for_the_template_to_escape(self):
        shown = show_value(json.dumps("<script>alert(1)</script>"), *JSON, limit=0)
        assert shown.text == '"<script>alert(1)</script>"' and shown.value == "<script>alert(1)</script>"

    def test_undecodable_content_is_shown_as_stored_with_the_reason(self):
        shown = show_value("not json <b>", *JSON, limit=0)
        assert shown.text == "not json <b>" and not shown.decoded and not shown.pretty
        assert "Could not be decoded as application/json" in shown.note

    def test_pickled_content_is_shown_as_stored(self, hostile_pickle):
        shown = show_value(hostile_pickle, PICKLE_CONTENT_TYPE, "binary", limit=0)
        assert shown.text == hostile_pickle and shown.value is None and "pickle" in shown.note

    def test_a_huge_value_is_cut_at_the_limit(self):
        stored = json.dumps("x" * 50_000)
        shown = show_value(stored, *JSON, limit=1000)
        assert len(shown.text) == 1000 and shown.cut and shown.text == stored[:1000]
        assert shown.value == "x" * 50_000  # the value itself is whole

    def test_a_value_at_the_limit_is_not_cut(self):
        shown = show_value('"abc"', *JSON, limit=5)
        assert shown.text == '"abc"' and not shown.cut

    @pytest.mark.parametrize("limit", [0, None])
    def test_no_limit_never_cuts(self, limit):
        assert not show_value(json.dumps("y" * 100_000), *JSON, limit=limit).cut

    def test_undecodable_content_is_cut_too(self):
        shown = show_value("z" * 300, "text/plain", "utf-8", limit=100)
        assert shown.text == "z" * 100 and shown.cut


# --- show_arguments -------------------------------------------------------------------


class TestShowArguments:
    def test_not_stored_names_result_extended(self):
        shown = show_arguments(None, *JSON, limit=0)
        assert shown.text == "" and "result_extended" in shown.note

    def test_an_argsrepr_tuple_is_shown_as_a_json_list(self):
        shown = show_arguments(json.dumps("(1, 'two', None)"), *JSON, limit=0)
        assert shown.pretty and shown.decoded and shown.value == (1, "two", None)
        assert json.loads(shown.text) == [1, "two", None]

    def test_a_kwargsrepr_dict_is_shown_as_json(self):
        shown = show_arguments(json.dumps("{'z': 3, 'a': [1, {'b': 2}]}"), *JSON, limit=0)
        assert shown.value == {"z": 3, "a": [1, {"b": 2}]} and shown.text == pretty(shown.value)

    def test_arguments_stored_as_json_themselves_are_shown_as_json(self):
        shown = show_arguments("[1, 2]", *JSON, limit=0)
        assert shown.pretty and shown.value == [1, 2]

    def test_a_repr_that_is_no_literal_is_shown_as_is(self):
        shown = show_arguments(json.dumps("(<object object at 0x7f>,)"), *JSON, limit=0)
        assert shown.text == "(<object object at 0x7f>,)" and not shown.pretty and not shown.decoded
        assert shown.note == "Stored as the sender's repr (argsrepr), shown as is."

    def test_a_literal_json_cannot_hold_is_shown_as_the_repr(self):
        shown = show_arguments(json.dumps("({1, 2},)"), *JSON, limit=0)
        assert shown.text == "({1, 2},)" and not shown.pretty and "argsrepr" in shown.note

    def test_plain_text_from_an_older_writer_is_read_as_a_repr(self):
        shown = show_arguments("(1, 2)", *JSON, limit=0)  # not JSON: the repr itself
        assert shown.pretty and shown.value == (1, 2)

    def test_a_repr_cut_by_celery_is_flagged_and_not_evaluated(self):
        cut = "(" + "'x', " * 300
        cut = cut[: ARGSREPR_MAXSIZE - 3] + "..."
        shown = show_arguments(json.dumps(cut), *JSON, limit=0)
        assert shown.truncated and not shown.pretty and shown.text == cut
        assert shown.note.startswith("Looks truncated: Celery cuts argument reprs at 1024 characters")

    def test_a_huge_repr_is_not_evaluated(self):
        huge = "[" + "1, " * 20_000 + "]"  # a valid literal, but over 50,000 characters
        shown = show_arguments(json.dumps(huge), *JSON, limit=0)
        assert not shown.pretty and shown.value is None and shown.text == huge and not shown.truncated

    def test_pickled_arguments_are_shown_as_stored(self, hostile_pickle):
        shown = show_arguments(hostile_pickle, PICKLE_CONTENT_TYPE, "binary", limit=0)
        assert shown.text == hostile_pickle and shown.value is None and "pickle" in shown.note

    def test_arguments_are_cut_at_the_limit(self):
        shown = show_arguments(json.dumps(list(range(1000))), *JSON, limit=50)
        assert len(shown.text) == 50 and shown.cut and shown.value == list(range(1000))

    def test_a_malformed_repr_does_not_raise(self):
        shown = show_arguments(json.dumps("(1, 2"), *JSON, limit=0)
        assert shown.text == "(1, 2" and not shown.decoded


class TestLooksTruncated:
    def test_only_a_long_text_ending_with_the_mark(self):
        assert looks_truncated("x" * (ARGSREPR_MAXSIZE - 8 - 3) + "...")
        assert not looks_truncated("x" * (ARGSREPR_MAXSIZE - 9 - 3) + "...")  # one shorter
        assert not looks_truncated("x" * 2000)
        assert not looks_truncated("('wait...',)")


# --- result tuples --------------------------------------------------------------------


class TestResultTuples:
    def test_a_task(self):
        assert parse_result_tuple(task_ref("t1")) == ResultRef("t1")
        assert not ResultRef("t1").is_group

    def test_a_task_with_a_parent(self):
        assert parse_result_tuple([["t1", ["parent", None]], None]) == ResultRef("t1")

    def test_a_group_with_nested_members(self):
        ref = parse_result_tuple(group_ref("g", [task_ref("a"), group_ref("inner", [task_ref("b")]), task_ref("c")]))
        assert ref == ResultRef("g", [ResultRef("a"), ResultRef("inner", [ResultRef("b")]), ResultRef("c")])
        assert ref.is_group and task_ids_in([ref]) == ["a", "b", "c"]

    def test_a_stored_group_at_the_top_has_a_bare_id(self):
        assert parse_result_tuple(["g", [task_ref("a")]]) == ResultRef("g", [ResultRef("a")])

    def test_an_empty_group_is_still_a_group(self):
        ref = parse_result_tuple(group_ref("g", []))
        assert ref.is_group and ref.members == [] and task_ids_in([ref]) == []

    def test_members_that_are_not_result_tuples_are_left_out(self):
        ref = parse_result_tuple(group_ref("g", [task_ref("a"), "junk", None, [1, 2, 3], task_ref("b")]))
        assert [member.id for member in ref.members] == ["a", "b"]

    @pytest.mark.parametrize("item", [None, "t1", 42, {"id": "t1"}, [], ["t1"], ["a", "b", "c"], [[], None],
                                      [[1, None], None], [None, None], [[None], None]])
    def test_anything_else_is_none(self, item):
        assert parse_result_tuple(item) is None

    def test_an_unexpected_rest_is_read_as_a_task(self):
        assert parse_result_tuple([["t1", None], 7]) == ResultRef("t1")

    def test_an_empty_id_is_an_id(self):
        assert parse_result_tuple(task_ref("")) == ResultRef("")

    def test_task_ids_are_in_order_across_refs(self):
        refs = [ResultRef("x"), ResultRef("g", [ResultRef("y"), ResultRef("h", [ResultRef("z")])]), ResultRef("w")]
        assert task_ids_in(refs) == ["x", "y", "z", "w"]


def test_the_module_never_imports_pickle():
    """The safety note's promise, checked where it would break: no pickle loader in the module."""
    assert "pickle" not in vars(decoding)
    assert PICKLE_CONTENT_TYPE not in decoding.SAFE_CONTENT_TYPES
