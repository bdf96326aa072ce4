"""Frozen records: dataclasses whose methods are written once here, not generated per class.

``@dataclass(frozen=True)`` compiles six small functions for every class (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), about 1 ms a class.
A process that submits a pipeline defines some thirty such classes, so that alone was a fifth
of its start-up. A :class:`Record` subclass is still a dataclass (``dataclasses.fields``,
``replace``, ``asdict`` and ``FrozenInstanceError`` behave as before); its comparison, hashing,
repr and immutability come from this base, and its ``__init__`` is compiled the first time the
class is instantiated, so classes a process never builds cost nothing.

Fields may have a default or a ``field(default_factory=...)``; other ``field()`` options are
refused when the class is defined.
"""

from __future__ import annotations

from dataclasses import MISSING, FrozenInstanceError, dataclass, fields
from typing import Any

__all__ = ["Record"]


class Record:
    """Base of immutable value classes: subclass it and annotate the fields, as for a dataclass."""

    __slots__ = ()
    _record_names: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        documented = cls.__dict__.get("__doc__") is not None
        if not documented:
            cls.__doc__ = cls.__name__  # keeps dataclass() from calling inspect.signature
        dataclass(init=False, repr=False, eq=False)(cls)
        names = []
        seen_default = False
        for f in fields(cls):
            plain = f.init and f.repr and f.compare and f.hash is None and not f.kw_only
            if not plain:
                raise TypeError(f"{cls.__qualname__}.{f.name}: a Record field takes only a default")
            has_default = f.default is not MISSING or f.default_factory is not MISSING
            if seen_default and not has_default:
                raise TypeError(
                    f"{cls.__qualname__}.{f.name}: a field without a default follows one with it"
                )
            seen_default = seen_default or has_default
            names.append(f.name)
        cls._record_names = tuple(names)
        if not documented:
            cls.__doc__ = f"{cls.__name__}({', '.join(names)})"
        if "__init__" not in cls.__dict__:
            cls.__init__ = Record.__init__  # type: ignore[method-assign]

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
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


def _compile_init(cls: type[Record]) -> Any:
    """``cls``'s ``__init__``, the same code ``dataclass(frozen=True)`` writes for it."""
    namespace: dict[str, Any] = {"_FACTORY": object()}
    parameters, body = ["self"], ["values = self.__dict__"]
    for f in fields(cls):
        name = f.name
        if f.default is not MISSING:
            namespace[f"_default_{name}"] = f.default
            parameters.append(f"{name}=_default_{name}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            parameters.append(f"{name}=_FACTORY")
            body.append(f"if {name} is _FACTORY: {name} = _factory_{name}()")
        else:
            parameters.append(name)
        body.append(f"values[{name!r}] = {name}")
    source = f"def __init__({', '.join(parameters)}):\n" + "".join(f"    {s}\n" for s in body)
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init
