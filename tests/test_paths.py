import pytest

from gladier.engine.paths import PathNotFound, format_path, get_path, parse_path, set_path
from gladier.exc import PathError


def test_parse_path_keys_indexes_and_quoted_names():
    assert parse_path("$") == ()
    assert parse_path("$.a.b[0]['odd key'].c") == ("a", "b", 0, "odd key", "c")
    assert format_path(("a", 0, "odd key")) == "$.a[0]['odd key']"


@pytest.mark.parametrize("bad", ["a.b", "$..a", "$.a[x]", "$.a[", 5])
def test_parse_path_rejects_malformed_paths(bad):
    with pytest.raises(PathError):
        parse_path(bad)


def test_get_path_names_the_missing_part():
    data = {"a": {"b": [1, {"c": 2}]}}
    assert get_path(data, "$.a.b[1].c") == 2
    with pytest.raises(PathNotFound, match=r"nothing at '\$\.a\.x'"):
        get_path(data, "$.a.x.y")


def test_set_path_creates_nested_objects_and_dollar_replaces_root():
    data = {"keep": 1}
    assert set_path(data, "$.x.y.z", 3) == {"keep": 1, "x": {"y": {"z": 3}}}
    assert set_path(data, "$", {"new": True}) == {"new": True}
    with pytest.raises(PathError, match="no list element"):
        set_path({"l": []}, "$.l[2]", 1)
