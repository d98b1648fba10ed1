"""Store paths and keys: examples, and properties against a zarr 2 oracle (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from zarrflow.errors import InvalidKeyError
from zarrflow.storage import (
    join_path,
    normalize_key,
    normalize_storage_path,
    prefix_for,
)


def zarr2_normalize_storage_path(path: str) -> str:
    """zarr-python 2.18's algorithm, transcribed, as the oracle (ValueError on bad segments)."""
    if not path:
        return ""
    path = path.replace("\\", "/")
    while path and path[0] == "/":
        path = path[1:]
    while path and path[-1] == "/":
        path = path[:-1]
    collapsed, previous = "", None
    for char in path:
        if not (char == "/" and previous == "/"):
            collapsed += char
        previous = char
    if any(s in {".", ".."} for s in collapsed.split("/")):
        raise ValueError("path containing '.' or '..' segment not allowed")
    return collapsed


# Paths built from the characters that matter, so that '.', '..', '//' and '\\' come up often.
segments = st.sampled_from(["", ".", "..", "...", ".z", "a", "b.c", "0", "..x", "x..", " "])
separators = st.sampled_from(["/", "//", "\\", "/\\"])
paths = st.builds(
    lambda segs, seps, lead, trail: lead + "".join(s + sep for s, sep in zip(segs, seps)) + trail,
    st.lists(segments, max_size=6),
    st.lists(separators, min_size=6, max_size=6),
    st.sampled_from(["", "/", "\\", "//"]),
    segments,
) | st.text(alphabet="./\\ab:", max_size=12)


def assert_normal(path: str) -> None:
    """The invariants of a normalised path."""
    assert not path.startswith("/") and not path.endswith("/")
    assert "\\" not in path and "//" not in path
    if path:
        assert all(seg not in ("", ".", "..") for seg in path.split("/"))


@given(paths)
@example("a/../b")
@example("/a//b\\c/")
def test_normalize_storage_path_matches_zarr2(path: str) -> None:
    try:
        expected = zarr2_normalize_storage_path(path)
    except ValueError:
        with pytest.raises(InvalidKeyError, match="segment"):
            normalize_storage_path(path)
        return
    got = normalize_storage_path(path)
    assert got == expected
    assert_normal(got)
    assert normalize_storage_path(got) == got  # idempotent


@given(paths)
def test_normalize_key_is_normal_relative_and_nonempty(key: str) -> None:
    try:
        got = normalize_key(key)
    except InvalidKeyError:
        return
    assert got
    assert_normal(got)
    assert not key.startswith(("/", "\\"))
    assert normalize_key(got) == got
    assert got == normalize_storage_path(key)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (None, ""),
        ("", ""),
        ("/", ""),
        ("foo", "foo"),
        ("/foo/bar/", "foo/bar"),
        ("foo//bar", "foo/bar"),
        ("foo\\bar", "foo/bar"),
        (b"foo/bar", "foo/bar"),
        (".zarray", ".zarray"),
        ("foo/.zattrs", "foo/.zattrs"),
        ("..foo/bar..", "..foo/bar.."),
    ],
)
def test_normalize_storage_path_examples(path: str | bytes | None, expected: str) -> None:
    assert normalize_storage_path(path) == expected


@pytest.mark.parametrize("path", [".", "..", "./foo", "foo/..", "foo/./bar", "foo/../bar", "\\..\\x"])
def test_normalize_storage_path_rejects_dot_segments(path: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        normalize_storage_path(path)
    assert repr(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_normalize_storage_path_str_of_other_objects() -> None:
    """zarr 2 turns any other object into its str() (its suite names groups with a
    class defining __str__); containers are refused, naming the type."""

    class Name:
        def __str__(self) -> str:
            return "/test/object/"

    assert normalize_storage_path(Name()) == "test/object"  # type: ignore[arg-type]
    assert normalize_storage_path(3) == "3"  # type: ignore[arg-type]
    for bad in (["a"], ("a",), {"a": 1}, {"a"}):
        with pytest.raises(TypeError, match=type(bad).__name__):
            normalize_storage_path(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [".zarray", "foo/.zattrs", "0.0", "a/0/0", "a//b", "a\\b", "a/"])
def test_normalize_key_accepts(key: str) -> None:
    assert normalize_key(key) == normalize_storage_path(key)


@pytest.mark.parametrize(
    "key", ["", "/", "/abs", "\\abs", "//unc/share", "C:\\x", "c:/x", "C:", "..", "a/../b", "a/.", "x\x00"]
)
def test_normalize_key_rejects(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        normalize_key(key)


@pytest.mark.parametrize("key", [b"bytes", 1, None, ["a"]])
def test_normalize_key_requires_str(key: object) -> None:
    with pytest.raises(TypeError, match="str"):
        normalize_key(key)  # type: ignore[arg-type]


def test_normalize_key_allows_colons_after_the_first_segment() -> None:
    assert normalize_key("a/C:x") == "a/C:x"
    assert normalize_key("ab:c") == "ab:c"


def test_join_path_and_prefix_for() -> None:
    assert join_path() == ""
    assert join_path("", None, "") == ""
    assert join_path("a", "", "/b/", "c/d") == "a/b/c/d"
    assert prefix_for(None) == "" and prefix_for("") == ""
    assert prefix_for("a/b") == "a/b/" and prefix_for("/a/b/") == "a/b/"
    with pytest.raises(InvalidKeyError):
        join_path("a", "..")
