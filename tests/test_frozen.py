"""quick_init: a frozen dataclass made faster still behaves as @dataclass(frozen=True) made it."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from interlock.analyzers import Scope, SimpleCommand
from interlock.analyzers.catalog_match import Parsed
from interlock.config import Policy
from interlock.decisions import Decision, Finding, Reason, Verdict
from interlock.frozen import quick_init


@dataclasses.dataclass(frozen=True)
class Plain:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()


@quick_init
@dataclasses.dataclass(frozen=True)
class Quick:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()


@quick_init
@dataclasses.dataclass(frozen=True)
class Derived:
    a: int
    double: int = dataclasses.field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "double", self.a * 2)


def test_same_signature_as_the_generated_init() -> None:
    assert str(inspect.signature(Quick)) == str(inspect.signature(Plain))
    for cls in (Finding, Reason, Decision, Scope, SimpleCommand, Parsed):
        expected = [(f.name, f.default) for f in dataclasses.fields(cls) if f.init]
        got = [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]
        assert got == [
            (name, inspect.Parameter.empty if d is dataclasses.MISSING else d)
            for name, d in expected
        ], cls


def test_fields_equality_hash_repr_replace_and_pickle_are_unchanged() -> None:
    quick, plain = Quick(1, c=(2,)), Plain(1, c=(2,))
    assert (quick.a, quick.b, quick.c) == (plain.a, plain.b, plain.c)
    assert repr(quick).replace("Quick", "Plain") == repr(plain)
    assert quick == Quick(1, "x", (2,)) and quick != Quick(2)
    assert hash(quick) == hash(Quick(1, c=(2,)))
    assert dataclasses.replace(quick, b="y") == Quick(1, "y", (2,))
    assert pickle.loads(pickle.dumps(quick)) == quick
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        Quick()  # type: ignore[call-arg]


def test_still_frozen() -> None:
    finding = Finding(operation="fs.delete", summary="s", verdict=Verdict.ASK, rule="r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.rule = "other"  # type: ignore[misc]


def test_post_init_runs_and_replace_recomputes() -> None:
    assert Derived(3).double == 6
    assert dataclasses.replace(Derived(3), a=5).double == 10
    scope = Scope(policy=Policy(project_root="/p"), cwd="/p", environment=None)
    command = SimpleCommand(argv=("/usr/bin/rm", "-rf", "x"), text="rm", scope=scope)
    assert command.name == "rm"
    assert dataclasses.replace(command, argv=("git", "status")).name == "git"


def test_keyword_only_fields_and_factories() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Plain:
        a: int
        b: list[int] = dataclasses.field(default_factory=list)

    @quick_init
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Quick:
        a: int
        b: list[int] = dataclasses.field(default_factory=list)

    assert str(inspect.signature(Quick)) == str(inspect.signature(Plain))
    first, second = Quick(a=1), Quick(a=1)
    assert first.b == [] and first.b is not second.b  # a new list each time, as a factory does
    assert Quick(a=1, b=[2]).b == [2]
    with pytest.raises(TypeError):
        Quick(1)  # type: ignore[misc]


def test_refuses_what_it_does_not_cover() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class WithInitVar:
        a: int
        scale: dataclasses.InitVar[int] = 1

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slots:
        a: int

    for cls in (Mutable, WithInitVar, Slots):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)
