"""The import hook behind the ``azureml`` alias: a ``sys.meta_path`` finder and its modules.

For each path in :data:`~hyperpipe.compat._aliases.ALIASES` the finder creates an
:class:`AliasModule`: a thin module named ``azureml.X`` that looks its public names up on the
hyperpipe module it maps onto, so ``azureml.core.Run is hyperpipe.core.Run`` and ``isinstance``
holds across both names. Being a module of its own, it keeps ``azureml.*`` submodule attributes
out of hyperpipe's namespaces, and a name hyperpipe lacks raises an error naming the SDK v1 call.

The real SDK always wins: the finder is installed only where ``azureml.core`` cannot be imported
otherwise. At interpreter start-up (the ``.pth`` hook) ``sys.path`` may not be complete yet, so
that check waits until the first ``azureml`` import, and a finder that finds the real SDK then
removes itself.
"""

from __future__ import annotations

import importlib
import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any

from hyperpipe.compat._aliases import ALIASES
from hyperpipe.compat._errors import (
    AzureMLModuleNotSupportedError,
    AzureMLNotSupportedError,
    AzureMLNotSupportedImportError,
    unsupported_message,
)

__all__ = [
    "AliasFinder",
    "AliasModule",
    "active_finder",
    "install",
    "real_sdk_importable",
    "uninstall",
]

_TARGET = "__hyperpipe_target__"
_FORWARDED_DUNDERS = frozenset({"__all__"})


class AliasModule(types.ModuleType):
    """``azureml.X``: public names come from the hyperpipe module it maps onto."""

    def __getattr__(self, name: str) -> Any:
        alias = self.__dict__["__name__"]
        child = f"{alias}.{name}"
        if child in ALIASES:
            return importlib.import_module(child)
        target = self.__dict__.get(_TARGET)
        forwarded = not name.startswith("_") or name in _FORWARDED_DUNDERS
        if target is not None and forwarded:
            try:
                return getattr(target, name)
            except AttributeError:
                pass
        if name.startswith("_"):
            raise AttributeError(f"module {alias!r} has no attribute {name!r}", name=name, obj=self)
        message = unsupported_message(child, alias, ALIASES.get(alias), _children(alias))
        if _is_import_from(sys._getframe(1)):
            # ``from azureml.X import name``: Python replaces an AttributeError by its own
            # "cannot import name" message, so this one must not be an AttributeError.
            raise AzureMLNotSupportedImportError(message, name=alias)
        raise AzureMLNotSupportedError(message, name=name, obj=self)

    def __dir__(self) -> list[str]:
        names = set(self.__dict__)
        target = self.__dict__.get(_TARGET)
        if target is not None:
            names.update(n for n in dir(target) if not n.startswith("_"))
        names.update(_children(self.__dict__["__name__"]))
        names.discard(_TARGET)
        return sorted(names)

    def __repr__(self) -> str:
        target = ALIASES.get(self.__dict__["__name__"])
        onto = f" (alias of {target!r})" if target else " (hyperpipe azureml alias)"
        return f"<module {self.__dict__['__name__']!r}{onto}>"


class AliasFinder:
    """Finds and loads the ``azureml.*`` paths of the alias table (importlib's finder and
    loader protocols)."""

    def __init__(self, *, check_real_sdk: bool) -> None:
        self._check_pending = check_real_sdk

    def settle(self) -> bool:
        """Run the pending real-SDK check: ``False`` (the finder removed) if the SDK is there."""
        if self._check_pending:
            self._check_pending = False
            if real_sdk_importable():
                _remove(self)
                return False
        return self in sys.meta_path

    # -- finder -----------------------------------------------------------------------------
    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "azureml" and not fullname.startswith("azureml."):
            return None
        if not self.settle():
            return None
        if fullname in ALIASES:
            spec = ModuleSpec(fullname, self, is_package=True)
            if fullname == "azureml":
                # other azureml.* distributions (a real namespace without the core SDK) stay
                # importable under the alias's top-level package
                real = _find_elsewhere("azureml", None)
                locations = getattr(real, "submodule_search_locations", None)
                spec.submodule_search_locations = list(locations or [])
            return spec
        found = _find_elsewhere(fullname, path)
        if found is not None or _probing():
            return found
        parent = fullname.rpartition(".")[0]
        message = unsupported_message(fullname, parent, ALIASES.get(parent), _children(parent))
        raise AzureMLModuleNotSupportedError(message, name=fullname)

    # -- loader -----------------------------------------------------------------------------
    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        return AliasModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        target_name = ALIASES[module.__name__]
        if target_name is None:
            module.__doc__ = f"SDK v1's {module.__name__} namespace, mapped onto hyperpipe."
            return
        target = importlib.import_module(target_name)
        module.__dict__[_TARGET] = target
        module.__doc__ = target.__doc__


def install(*, check_real_sdk: bool) -> AliasFinder:
    """Put the finder first on ``sys.meta_path`` (once). With ``check_real_sdk`` the real-SDK
    check waits until the first ``azureml`` import."""
    finder = _installed()
    if finder is None:
        finder = AliasFinder(check_real_sdk=check_real_sdk)
        sys.meta_path.insert(0, finder)
    return finder


def uninstall() -> None:
    """Remove the finder and every aliased module from ``sys.modules``."""
    finder = _installed()
    if finder is not None:
        _remove(finder)
    for name, module in list(sys.modules.items()):
        if isinstance(module, AliasModule):
            del sys.modules[name]


def active_finder() -> AliasFinder | None:
    """The installed finder once its real-SDK check (if pending) has passed, else ``None``."""
    finder = _installed()
    if finder is not None and finder.settle():
        return finder
    return None


def real_sdk_importable() -> bool:
    """Whether ``azureml.core`` can be imported by anything but the alias, importing nothing."""
    core = sys.modules.get("azureml.core")
    if core is not None:
        return not isinstance(core, AliasModule)
    top = sys.modules.get("azureml")
    if top is not None and not isinstance(top, AliasModule):
        locations = getattr(top, "__path__", None)
    else:
        spec = _find_elsewhere("azureml", None)
        locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        return False
    return _find_elsewhere("azureml.core", list(locations)) is not None


def _children(alias: str) -> list[str]:
    """The mapped submodules directly under ``alias`` (short names)."""
    prefix = alias + "."
    return sorted(
        a[len(prefix) :] for a in ALIASES if a.startswith(prefix) and "." not in a[len(prefix) :]
    )


def _installed() -> AliasFinder | None:
    return next((f for f in sys.meta_path if isinstance(f, AliasFinder)), None)


def _remove(finder: AliasFinder) -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if f is not finder]


def _find_elsewhere(fullname: str, path: Any) -> ModuleSpec | None:
    """What the other ``sys.meta_path`` finders make of ``fullname``."""
    for finder in list(sys.meta_path):
        if isinstance(finder, AliasFinder):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(fullname, path)
        if spec is not None:
            return spec
    return None


def _probing() -> bool:
    """Whether ``importlib.util.find_spec`` asked: a probe expects ``None``, not an error."""
    util = sys.modules.get("importlib.util")
    if util is None:
        return False
    probe = util.find_spec.__code__
    frame: types.FrameType | None = sys._getframe(2)
    for _ in range(4):
        if frame is None:
            return False
        if frame.f_code is probe:
            return True
        frame = frame.f_back
    return False


def _is_import_from(frame: types.FrameType) -> bool:
    """Whether ``frame`` is executing ``from module import name``."""
    try:
        import opcode

        return frame.f_code.co_code[frame.f_lasti] == opcode.opmap["IMPORT_FROM"]
    except Exception:  # an interpreter without these details: fall back to AttributeError
        return False
