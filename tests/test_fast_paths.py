"""The indexes and short cuts that keep decide() within its budget (issues 3 and 4) decide
exactly what the plain scans did. No timings here: each test compares against the slow form."""

from __future__ import annotations

import fnmatch
import json

import pytest

from interlock.actions import HttpAction, ShellAction
from interlock.analyzers import catalog
from interlock.analyzers.http_graphql import mutation_fields
from interlock.analyzers.http_providers import Provider, providers
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.engine import decide
from interlock.environments import is_loopback, resolve

RAILWAY = "https://backboard.railway.app/graphql/v2"
JSON = {"Content-Type": "application/json"}
POLICY = Policy(project_root="/srv/app")


def _post(query: str) -> Verdict:
    body = json.dumps({"query": query})
    return decide(HttpAction(method="POST", url=RAILWAY, headers=JSON, body=body), POLICY).verdict


# -- GraphQL: no `mutation` substring, no parse ------------------------------------------------


def test_document_without_the_keyword_is_a_read_unparsed() -> None:
    assert mutation_fields("query { me { id } }", {}) == ([], None)
    # Broken, but it cannot hold a mutation: the server rejects it, nothing runs.
    assert mutation_fields("{ me { id ", {}) == ([], None)
    assert _post("query { me { projects { edges { node { id } } } } }") is Verdict.ALLOW


@pytest.mark.parametrize(
    "document",
    [
        'mutation { volumeDelete(volumeId: "x) }',  # the keyword, then a broken string
        'query { a(x: "mutation") ',  # the substring only inside a string: still parsed
        "{ me } mutation",
    ],
)
def test_document_with_the_keyword_is_parsed_and_unreadable_asks(document: str) -> None:
    fields, error = mutation_fields(document, {})
    assert error is not None and not fields
    assert _post(document) is not Verdict.ALLOW


def test_mutation_is_still_found() -> None:
    fields, error = mutation_fields('mutation { k: volumeDelete(volumeId: "v") }', {})
    assert error is None and [(f.name, f.alias) for f in fields] == [("volumeDelete", "k")]
    assert _post('mutation { volumeDelete(volumeId: "v") }') is not Verdict.ALLOW
    # Keywords are case-sensitive: `Mutation` is a name, so this is a query selecting it.
    assert mutation_fields("{ Mutation }", {}) == ([], None)


# -- provider hosts: dict and compiled globs agree with the fnmatch scan -------------------------


def _scan(host: str) -> Provider | None:
    best: tuple[int, Provider] | None = None
    for provider in providers().providers:
        for pattern in provider.hosts:
            if fnmatch.fnmatchcase(host, pattern) and (best is None or len(pattern) > best[0]):
                best = (len(pattern), provider)
    return best[1] if best else None


def _hosts() -> list[str]:
    out = ["example.com", "api.github.com.evil.com", "localhost", "x.eks.amazonaws.com"]
    for provider in providers().providers:
        for pattern in provider.hosts:
            out += [pattern.replace("*", "a"), pattern.replace("*", "a.b"), "x" + pattern]
    return out


def test_provider_by_host_agrees_with_the_fnmatch_scan() -> None:
    catalog_ = providers()
    hosts = _hosts()
    assert any(_scan(h) is not None for h in hosts) and any(_scan(h) is None for h in hosts)
    for host in hosts:
        found = catalog_.for_request(host, None, "/")
        if _scan(host) is not None:
            assert found is _scan(host), host


# -- catalogs: precomputed matchers agree with the full loader -----------------------------------


@pytest.mark.parametrize(
    "name",
    ["git", "docker", "kubectl", "microk8s.kubectl", "npx", "uvx", "sudo", "ls", "frobnicate"],
)
def test_lazy_lookups_agree_with_the_full_catalog(name: str) -> None:
    full, lazy = catalog.load(), catalog.LazyCatalog.scan(catalog.CATALOG_DIR)
    assert [t.id for t in lazy.tools_for(name)] == [t.id for t in full.tools_for(name)]
    assert lazy.launchers_for(name) == full.launchers_for(name)
    for tool in full.tools_for(name):
        every = [r.id for r in lazy.rules_for(tool.id)]
        assert sorted(every) == sorted(r.id for r in full.rules_for(tool.id))
        for first in ("push", "delete", "status", "rm", ""):
            some = [r.id for r in lazy.rules_for(tool.id, first)]
            assert set(some) <= set(every)


def test_first_word_filter_keeps_the_rules_that_can_match() -> None:
    lazy = catalog.LazyCatalog.scan(catalog.CATALOG_DIR)
    assert lazy.rules_for("git", "push") and not lazy.rules_for("git", "status")


# -- shell: the walk's scope follows cd ----------------------------------------------------------


def test_scope_follows_cd_and_stays_for_the_rest() -> None:
    policy = Policy(project_root="/srv/app", home="/home/dev")
    rm = decide(ShellAction(command="cd / && rm -rf etc", cwd="/srv/app"), policy)
    assert rm.verdict is not Verdict.ALLOW
    local = decide(ShellAction(command="cd build && rm -rf out", cwd="/srv/app"), policy)
    assert local.verdict is Verdict.ALLOW


# -- environments: a production word in a name --------------------------------------------------


def test_production_word_in_a_name() -> None:
    policy = Policy(project_root="/srv/app")
    assert resolve(policy, "host", "api.prod.example.com") == "production"
    assert resolve(policy, "host", "api.product.example.com") is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.1.nip.io", False),  # a name that starts like an address: somebody else's
        ("127.example.com", False),
        ("10.0.0.7", False),
        ("backboard.railway.app", False),
    ],
)
def test_loopback_names_skip_the_address_parser_and_agree_with_it(
    host: str, loopback: bool
) -> None:
    import ipaddress

    assert is_loopback(host) is loopback
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        assert not loopback
    else:
        assert (address.is_loopback or address.is_unspecified) is loopback


def test_program_name_is_the_base_name_of_each_copy() -> None:
    policy = Policy(project_root="/srv/app")
    found = decide(ShellAction(command="/usr/bin/rm -rf /etc", cwd="/srv/app"), policy)
    assert found.verdict is not Verdict.ALLOW
    assert decide(ShellAction(command="/usr/bin/ls /etc", cwd="/srv/app"), policy).verdict is (
        Verdict.ALLOW
    )
