"""Frozen dataclasses that are cheap to make, for the objects every decision creates.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__``:
about 2,000 machine instructions a field on CPython 3.11, so a ``Finding`` (9 fields) cost more
to make than most of the analysis that found it. A shell decision makes six to ten of these
objects (issue #2 item 9: ``decide()`` under 100 µs). :func:`quick_init` gives such a class an
``__init__`` that fills the instance's ``__dict__`` in one step. Everything else stays what
``@dataclass(frozen=True)`` made: the fields, equality, hashing, ``repr``, ``replace()``, and
assignment still raising ``FrozenInstanceError``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["quick_init", "replace"]

T = TypeVar("T")

_INIT_FIELDS: dict[type, tuple[str, ...]] = {}
"""The ``__init__`` parameters of each class :func:`quick_init` rewrote, for :func:`replace`."""


class _Factory:
    """The default of a parameter whose field has a ``default_factory``."""

    def __repr__(self) -> str:
        return "<factory>"


def quick_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of the frozen dataclass ``cls`` by one with the same signature
    that sets every field at once (then calls ``__post_init__``, if the class has one).

    Fields may have defaults, default factories or be keyword-only, as dataclasses allow. The
    new ``__init__`` must take exactly the parameters the generated one took (an ``InitVar``
    would not be passed on, for one): otherwise the class is refused, not half done.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or hasattr(cls, "__slots__"):
        raise TypeError(f"quick_init needs a frozen dataclass without slots: {cls.__name__}")
    marker = _Factory()
    namespace: dict[str, object] = {"_set": object.__setattr__, "_factory": marker}
    positional: list[str] = []
    keyword: list[str] = []
    items: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = f.name
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"_make_{f.name}"] = f.default_factory
            value = f"_make_{f.name}() if {f.name} is _factory else {f.name}"
            default = "=_factory"
            if not f.init:
                value = f"_make_{f.name}()"
        elif f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            default = f"=_default_{f.name}"
            if not f.init:
                value = f"_default_{f.name}"
        elif not f.init:
            continue  # set by __post_init__, as the generated __init__ leaves it
        else:
            default = ""
        if f.init:
            (keyword if f.kw_only else positional).append(f"{f.name}{default}")
        items.append(f"{f.name!r}: {value}")
    arguments = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    body = f"    _set(self, '__dict__', {{{', '.join(items)}}})\n"
    if hasattr(cls, "__post_init__"):
        body += "    self.__post_init__()\n"
    exec(f"def __init__({arguments}):\n{body}", namespace)
    init: Any = namespace["__init__"]
    generated = cls.__init__.__code__
    names = generated.co_varnames[: generated.co_argcount + generated.co_kwonlyargcount]
    ours = init.__code__.co_varnames[: init.__code__.co_argcount + init.__code__.co_kwonlyargcount]
    if names != ours:
        raise TypeError(f"quick_init: {cls.__name__}.__init__ takes {names}, not {ours}")
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {f.name: f.type for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    init.__annotations__["return"] = None
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    _INIT_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)  # type: ignore[arg-type]
    return cls


def replace(obj: T, /, **changes: Any) -> T:
    """``dataclasses.replace()``: a copy of ``obj`` with ``changes``.

    For a class made by :func:`quick_init` the fields are copied in one step (the standard
    function checks each field's kind first, about twice the work); any other dataclass goes
    the standard way.
    """
    names = _INIT_FIELDS.get(type(obj))
    if names is None:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    values = obj.__dict__
    arguments = {name: values[name] for name in names}
    arguments.update(changes)
    return type(obj)(**arguments)
