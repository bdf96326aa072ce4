"""Records: value classes declared like dataclasses, built without generating code per class.

``@dataclass`` compiles several small functions for every class (``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, and for frozen ones ``__setattr__`` and ``__delattr__``), about 1 ms a
class, and importing ``dataclasses`` loads ``inspect`` (and with it ``ast``, ``dis``,
``tokenize``). A process that submits a pipeline defines some thirty such classes, so that was a
fifth of its start-up. A :class:`Record` subclass declares its fields the same way (annotations,
defaults, ``field(default_factory=...)``); comparison, hashing, repr and immutability come from
this base, and ``__init__`` is compiled the first time the class is instantiated, so classes a
process never builds cost nothing.

Records stay dataclasses to the rest of Python: ``dataclasses.fields``, ``replace``, ``asdict``
and ``is_dataclass`` work (``__dataclass_fields__`` is built on first use), and assigning to a
frozen record raises ``dataclasses.FrozenInstanceError``. ``class Slot(Record, frozen=False)``
declares a mutable record (unhashable, as a mutable dataclass is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Record", "field"]

_NO_DEFAULT = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """A field whose default is made anew for each instance (``dataclasses.field``'s
    ``default_factory``)."""
    return _Factory(default_factory)


class _DataclassFields:
    """``__dataclass_fields__``, made by ``dataclasses`` itself the first time it is asked for."""

    def __get__(self, instance: Any, owner: type[Record]) -> dict[str, Any]:
        import dataclasses

        namespace: dict[str, Any] = {
            "__annotations__": dict(owner._record_annotations),
            "__module__": owner.__module__,
        }
        for name, default in owner._record_fields:
            if isinstance(default, _Factory):
                namespace[name] = dataclasses.field(default_factory=default.make)
            elif default is not _NO_DEFAULT:
                namespace[name] = default
        shadow = dataclasses.dataclass(type(owner.__name__, (), namespace))
        fields = shadow.__dataclass_fields__  # type: ignore[attr-defined]
        type.__setattr__(owner, "__dataclass_fields__", fields)
        return fields


class Record:
    """Base of value classes: subclass it and annotate the fields, as for a dataclass."""

    __slots__ = ()
    __dataclass_fields__: Any = _DataclassFields()
    _record_fields: tuple[tuple[str, Any], ...] = ()
    _record_annotations: tuple[tuple[str, str], ...] = ()
    _record_names: tuple[str, ...] = ()

    def __init_subclass__(cls, frozen: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = dict(cls._record_fields)
        annotations = dict(cls._record_annotations)
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs ms to import
        for name, annotation in own.items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            annotations[name] = str(annotation)
            default = cls.__dict__.get(name, _NO_DEFAULT)
            if type(default).__module__ == "dataclasses":
                raise TypeError(
                    f"{cls.__qualname__}.{name}: a Record field takes a default or "
                    "hyperpipe._record.field(default_factory=...), not dataclasses.field"
                )
            if isinstance(default, _Factory):
                delattr(cls, name)
            inherited.pop(name, None)
            inherited[name] = default
        seen_default = False
        for name, default in inherited.items():
            if default is _NO_DEFAULT and seen_default:
                raise TypeError(
                    f"{cls.__qualname__}.{name}: a field without a default follows one with it"
                )
            seen_default = seen_default or default is not _NO_DEFAULT
        cls._record_fields = tuple(inherited.items())
        cls._record_annotations = tuple((name, annotations[name]) for name in inherited)
        cls._record_names = tuple(inherited)
        cls.__match_args__ = cls._record_names
        cls.__dataclass_fields__ = _DataclassFields()  # its own: a parent's must not be found
        if cls.__dict__.get("__doc__") is None:
            cls.__doc__ = f"{cls.__name__}({', '.join(cls._record_names)})"
        if "__init__" not in cls.__dict__:
            cls.__init__ = Record.__init__  # type: ignore[method-assign]
        if not frozen:
            cls.__setattr__ = object.__setattr__  # type: ignore[method-assign,assignment]
            cls.__delattr__ = object.__delattr__  # type: ignore[method-assign,assignment]
            cls.__hash__ = None  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if cls.__dict__.get("__init__") is Record.__init__:
            cls.__init__ = _compile_init(cls)  # type: ignore[method-assign]
        cls.__init__(self, *args, **kwargs)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_names)
        return f"{type(self).__qualname__}({values})"

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._record_names)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")


def compile_inits(*classes: type[Record]) -> None:
    """Write each class's ``__init__`` now rather than at its first instance: a fork server
    does this once, so that its forked tasks do not each write them again."""
    for cls in classes:
        if cls.__dict__.get("__init__") is Record.__init__:
            cls.__init__ = _compile_init(cls)  # type: ignore[method-assign]


def _compile_init(cls: type[Record]) -> Any:
    """``cls``'s ``__init__``: the same code ``@dataclass`` writes for it."""
    namespace: dict[str, Any] = {"_FACTORY": _Factory}
    parameters, body = ["self"], ["values = self.__dict__"]
    for name, default in cls._record_fields:
        if isinstance(default, _Factory):
            namespace[f"_factory_{name}"] = default.make
            parameters.append(f"{name}=_FACTORY")
            body.append(f"if {name} is _FACTORY: {name} = _factory_{name}()")
        elif default is not _NO_DEFAULT:
            namespace[f"_default_{name}"] = default
            parameters.append(f"{name}=_default_{name}")
        else:
            parameters.append(name)
        body.append(f"values[{name!r}] = {name}")
    source = f"def __init__({', '.join(parameters)}):\n" + "".join(f"    {s}\n" for s in body)
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init
