"""Hostile input from the red-team review: each must end in a normal, reasoned decision (never an
exception, never a hang), and none of them may be allowed when what it hides is destructive.

Each finding has the input that crashed or hung the analysis and a benign look-alike that must
stay allowed. Decided by the whole engine on the fixed project of ``conftest``.
"""

from __future__ import annotations

from interlock.decisions import Verdict

from .conftest import shell


def rules(command: str) -> set[str]:
    return {r.rule for r in shell(command).reasons}


# -- 2. a URL urllib cannot split (`http://[::1`) -------------------------------------------


def test_unsplittable_url_asks_instead_of_crashing() -> None:
    decision = shell("curl -X DELETE http://[::1")
    assert decision.verdict is Verdict.ASK
    assert "http.unparsed" in rules("curl -X DELETE http://[::1")
    assert shell("curl http://[::1]:8080/health").verdict is Verdict.ALLOW


def test_unsplittable_database_url_does_not_hide_the_sql() -> None:
    assert shell('DATABASE_URL=postgres://[::1 psql -c "DROP TABLE t"').verdict is not Verdict.ALLOW
    assert shell('DATABASE_URL=postgres://[::1]/app psql -c "SELECT 1"').verdict is Verdict.ALLOW


# -- 1. ANSI-C quoting that is not a valid escape (`$'\x'`, `$'\c'`, `$'\U0011FFFF'`) --------


def test_ansi_c_escapes_without_digits_stay_literal_as_in_bash() -> None:
    from interlock.analyzers.shell import _ansi_c

    # Expected bytes are what bash 5.2 prints for `printf %s $'…'` in a UTF-8 locale.
    cases = {
        r"\x": b"\\x",
        r"\c": b"\\c",
        r"\u": b"\\u",
        r"a\x4G": b"a\x04G",
        r"\cA\c?\c\\": b"\x01\x7f\x1c",
        r"\U0011FFFF": b"\xf4\x9f\xbf\xbf",
        r"a\UFFFFFFFFb": b"ab",
        r"\xc3\xa9\u00e9": "éé".encode(),
        r"a\x{41}b\101": b"aAbA",
        r"/\0tmp": b"/",
        r"\q": b"\\q",
    }
    for body, expected in cases.items():
        assert _ansi_c(body).encode("utf-8", "surrogateescape") == expected, body


def test_ansi_c_oddities_are_decided_and_a_hidden_root_is_still_denied() -> None:
    for command in ("echo $'\\x'", "echo $'\\c'", "echo $'\\U0011FFFF'"):
        assert shell(command).verdict is Verdict.ALLOW, command
    # bash ends a $'…' string at its NUL: this is `rm -rf /`.
    assert shell("rm -rf $'/\\0tmp/x'").verdict is Verdict.DENY
    assert shell("rm -rf $'\\x'").verdict is not Verdict.ALLOW


# -- 3. nesting deep enough to overflow Python's stack -----------------------------------------


def test_deep_command_substitution_asks() -> None:
    command = "echo " + "$(" * 200 + "ls" + ")" * 200
    assert shell(command).verdict is Verdict.ASK
    assert "shell.unparsed" in rules(command)
    assert shell("echo $(echo $(echo $(ls)))").verdict is Verdict.ALLOW


def test_deep_subshells_ask_and_what_follows_is_still_judged() -> None:
    deep = "(" * 5000 + "ls" + ")" * 5000
    assert shell(deep).verdict is Verdict.ASK
    assert shell(deep + "; rm -rf /").verdict is Verdict.DENY
    assert shell("( ( ( ls ) ) )").verdict is Verdict.ALLOW


def test_thousands_of_sudo_are_never_allowed() -> None:
    # Repeats of one wrapper collapse (commands._collapse_repeats): judged as `sudo rm -rf /`.
    assert shell("sudo " * 5000 + "rm -rf /").verdict is Verdict.DENY
    # Wrappers that alternate are unwrapped one level at a time, up to a bound: ask.
    assert "shell.unparsed" in rules("sudo nice " * 2500 + "rm -rf /")
    assert shell("sudo " * 3 + "ls").verdict is Verdict.ALLOW


def test_bounds_that_multiply_still_end_in_ask() -> None:
    import shlex

    inner = "rm -rf /"
    for _ in range(10):
        inner = "sudo " * 60 + "bash -c " + shlex.quote(inner)
    assert shell(inner).verdict is not Verdict.ALLOW


def test_a_long_and_chain_is_a_sequence_not_nesting() -> None:
    assert shell("true && " * 20000 + "ls").verdict is Verdict.ALLOW
    assert shell("true && " * 20000 + "rm -rf ~").verdict is Verdict.DENY


def test_many_brace_groups_do_not_overflow_and_a_hidden_option_is_not_dropped() -> None:
    assert shell("echo " + "{a,b}" * 20000).verdict is Verdict.ALLOW
    # The 65th option used to be cut off silently.
    assert shell("rm -rf /tmp/{" + "a," * 64 + "..}").verdict is not Verdict.ALLOW
    assert shell("rm -rf /{etc,usr}").verdict is Verdict.DENY


def test_graphql_body_nested_too_deep_asks() -> None:
    from interlock.actions import HttpAction
    from interlock.config import Policy
    from interlock.engine import decide

    from .conftest import HOME, PROJECT

    def post(body: str) -> Verdict:
        action = HttpAction(
            method="POST",
            url="https://api.example.com/graphql",
            headers={"Content-Type": "application/json"},
            body=body,
        )
        return decide(action, Policy(project_root=PROJECT, home=HOME)).verdict

    assert post('{"query": "x", "v": ' + "[" * 100000 + "]" * 100000 + "}") is Verdict.ASK
    assert post('{"query": "{ me { id } }", "v": [[[1]]]}') is Verdict.ALLOW
    inline = "mutation { " + "... on M { " * 5000 + "volumeDelete(id: 1)" + " }" * 5000 + " }"
    assert post(json_query(inline)) is not Verdict.ALLOW
    # A fragment chain six deep used to be skipped silently, hiding the mutation in it.
    chain = " ".join(f"fragment F{i} on M {{ ...F{i + 1} }}" for i in range(6))
    hidden = "mutation { ...F0 } " + chain + " fragment F6 on M { volumeDelete(id: 1) }"
    assert post(json_query(hidden)) is not Verdict.ALLOW
    cycle = "mutation { ...A } fragment A on M { ...A }"
    assert post(json_query(cycle)) is Verdict.ASK


def json_query(document: str) -> str:
    import json

    return json.dumps({"query": document})


def test_curl_posting_deeply_nested_json_asks() -> None:
    deep = "'" + '{"query": ' + "[" * 50000 + "]" * 50000 + "}'"
    assert shell("curl -X POST https://api.example.com/graphql -d " + deep).verdict is Verdict.ASK
    ok = '\'{"query": "{ me { id } }"}\''
    assert shell("curl -X POST https://api.example.com/graphql -d " + ok).verdict is Verdict.ALLOW


# -- 4. lone surrogates (JSON's "\ud800") ----------------------------------------------------


def test_lone_surrogates_are_decided_and_digested() -> None:
    from interlock.actions import ShellAction

    decision = shell("rm -rf ~/x\ud800")
    assert decision.verdict is Verdict.DENY
    assert decision.action_digest.startswith("sha256:")
    assert shell("ls x\ud800\udcff").verdict is Verdict.ALLOW
    one, other = ShellAction(command="ls \ud800"), ShellAction(command="ls \ud801")
    assert one.digest() != other.digest()
    assert ShellAction(command="ls é").digest() == ShellAction(command="ls é").digest()


def test_encode_gives_back_bytes_that_were_not_utf8() -> None:
    from interlock.analyzers import encode

    raw = b"rm \xff /x"
    assert encode(raw.decode("utf-8", "surrogateescape")) == raw
    assert encode("\ud800") == b"\xed\xa0\x80"


# -- 5. size: linear in the input, and a cap ---------------------------------------------------


def test_forty_kilobytes_of_arguments_are_decided() -> None:
    assert shell("echo " + "a " * 20000).verdict is Verdict.ALLOW
    assert shell("echo " + "a " * 20000 + "; rm -rf /").verdict is Verdict.DENY
    assert shell("rm -rf " + "build " * 5000 + "/").verdict is Verdict.DENY


def test_commands_over_the_size_cap_ask() -> None:
    from interlock.analyzers.shell import MAX_COMMAND_BYTES

    big = "echo " + "a" * MAX_COMMAND_BYTES
    assert shell(big).verdict is Verdict.ASK
    assert "shell.unparsed" in rules(big)
    assert shell("echo " + "a" * (MAX_COMMAND_BYTES - 100)).verdict is Verdict.ALLOW


def test_a_cd_chain_longer_than_path_max_makes_the_folder_unknown() -> None:
    assert shell("cd a; " * 3000 + "rm -rf b").verdict is Verdict.ASK
    assert shell("cd /; " + "cd a; " * 3000 + "cd /; rm -rf *").verdict is Verdict.DENY


# -- 6. values that double -------------------------------------------------------------------


def test_doubling_a_variable_makes_it_unknown_not_huge() -> None:
    command = "a=x; " + "a=$a$a; " * 40 + "rm -rf $a"
    assert shell(command).verdict is Verdict.ASK
    root = "a=/; " + "a=$a$a; " * 40 + "rm -rf $a"
    assert shell(root).verdict is not Verdict.ALLOW
    assert shell("a=x; a=$a$a; echo $a").verdict is Verdict.ALLOW


def test_many_long_words_in_one_command_are_cut_and_asked_about() -> None:
    words = "b=" + "x" * 60000 + "; echo " + "$b " * 100
    assert shell(words).verdict is Verdict.ASK
    assert shell(words + "; rm -rf /").verdict is Verdict.DENY


def test_appending_unknown_text_to_a_written_script_keeps_what_was_known() -> None:
    assert shell("echo 'rm -rf /' > x.sh; echo $X >> x.sh; bash x.sh").verdict is Verdict.DENY
    assert shell("echo 'ls' > x.sh; echo $X >> x.sh; bash x.sh").verdict is Verdict.ASK
    assert shell("echo 'ls' > x.sh; echo pwd >> x.sh; bash x.sh").verdict is Verdict.ALLOW


# -- found by fuzzing: tree-sitter-bash segfaults on `{` and a 4-byte UTF-8 sequence -----------


def test_brace_then_four_byte_character_does_not_kill_the_process() -> None:
    # tree-sitter-bash#337: SIGSEGV on Linux. A hook killed by a signal does not deny, so this
    # is a way past the guard, not only a crash. Repeated: the read is out of bounds, and
    # whether it faults depends on the memory layout.
    for _ in range(50):
        assert shell("{\U000e5b06").verdict is Verdict.ASK  # an unclosed group
        assert shell("d{\U000e5b06\x07J3S").verdict is Verdict.ALLOW  # an unknown program
        assert shell("echo {\U00031860,b}").verdict is Verdict.ALLOW
    assert shell("rm -rf {\U0001f642,/}").verdict is Verdict.DENY
    assert shell("rm -rf /\U0001f642").verdict is Verdict.DENY
    assert shell('git commit -m "feat: \U0001f389 release"').verdict is Verdict.ALLOW
