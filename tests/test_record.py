"""``Record``: frozen value classes that behave as ``@dataclass(frozen=True)`` ones do."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from hyperpipe._record import Record, field


class Point(Record):
    x: int
    y: int = 0
    tags: dict[str, str] = field(default_factory=dict)


class Labelled(Point):
    label: str = ""


def test_a_record_is_a_dataclass_with_its_fields_in_order() -> None:
    assert dataclasses.is_dataclass(Point)
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags"]
    assert [f.name for f in dataclasses.fields(Labelled)] == ["x", "y", "tags", "label"]


def test_arguments_bind_by_position_and_by_name_with_defaults() -> None:
    assert Point(1).y == 0
    assert Point(1, 2).y == 2
    assert Point(y=3, x=1).x == 1
    assert Labelled(1, label="a").label == "a"


def test_each_instance_gets_its_own_default_from_a_factory() -> None:
    first, second = Point(1), Point(2)
    assert first.tags == {} and first.tags is not second.tags


def test_bad_arguments_raise_python_s_own_type_errors() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)


def test_assigning_or_deleting_a_field_raises_frozen_instance_error() -> None:
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'y'"):
        del point.y
    assert point.x == 1


def test_equality_and_hash_follow_the_fields_and_the_exact_class() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert Point(1) != Labelled(1)
    assert hash(Point(4, 5, ())) == hash(Point(4, 5, ()))  # type: ignore[arg-type]
    assert len({Point(4, 5, ()), Point(4, 5, ()), Point(4, 6, ())}) == 2  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unhashable"):
        hash(Point(1))  # a dict field, as with a frozen dataclass


def test_repr_names_every_field() -> None:
    assert repr(Labelled(1, label="a")) == "Labelled(x=1, y=0, tags={}, label='a')"


def test_replace_asdict_copy_and_pickle_keep_working() -> None:
    point = Labelled(1, 2, {"k": "v"}, "a")
    assert dataclasses.replace(point, y=5) == Labelled(1, 5, {"k": "v"}, "a")
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "tags": {"k": "v"}, "label": "a"}
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point


def test_a_class_without_a_docstring_is_documented_by_its_fields() -> None:
    assert Point.__doc__ == "Point(x, y, tags)"


def test_dataclasses_field_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="not dataclasses.field"):

        class Hidden(Record):
            secret: str = dataclasses.field(default="", repr=False)


class Counter(Record, frozen=False):
    name: str
    count: int = 0


def test_a_mutable_record_takes_assignments_and_is_unhashable_like_a_mutable_dataclass() -> None:
    counter = Counter("a")
    counter.count += 1
    assert counter == Counter("a", 1)
    with pytest.raises(TypeError, match="unhashable"):
        hash(counter)


def test_a_record_is_no_heavier_to_import_than_its_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from hyperpipe._record import Record, field\n"
        "class P(Record):\n"
        "    x: int\n"
        "    tags: dict = field(default_factory=dict)\n"
        "assert P(1) == P(1) and P(1).tags is not P(1).tags\n"
        "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        class Backwards(Record):
            a: int = 0
            b: int
