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

__all__ = ["quick_init"]

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of the frozen dataclass ``cls`` by one with the same signature
    that sets every field at once (then calls ``__post_init__``, if the class has one).

    Only for what that covers: positional-or-keyword fields with plain defaults or none, no
    ``default_factory``, no ``InitVar``, no slots. Anything else is refused, not half done.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or hasattr(cls, "__slots__"):
        raise TypeError(f"quick_init needs a frozen dataclass without slots: {cls.__name__}")
    namespace: dict[str, object] = {"_set": object.__setattr__}
    arguments: list[str] = []
    items: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        if f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"quick_init: {cls.__name__}.{f.name} is keyword-only or a factory")
        if f.default is dataclasses.MISSING:
            arguments.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            arguments.append(f"{f.name}=_default_{f.name}")
        items.append(f"{f.name!r}: {f.name}")
    body = f"    _set(self, '__dict__', {{{', '.join(items)}}})\n"
    if hasattr(cls, "__post_init__"):
        body += "    self.__post_init__()\n"
    exec(f"def __init__(self, {', '.join(arguments)}):\n{body}", namespace)
    init: Any = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {f.name: f.type for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    init.__annotations__["return"] = None
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
