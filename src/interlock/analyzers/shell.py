"""Shell analysis on tree-sitter-bash: every simple command a string would run.

Never regexes over the raw string (peers.md §b.3: chaining, absolute paths, brace groups and
wrappers walked past every string-matching guard). The walk:

1. Parse with tree-sitter-bash. ``has_error`` means the parser did not understand the input:
   that is at least ``ask`` (``shell.unparsed``), and whatever could be read is still judged.
2. Visit every node. Lists, pipelines, subshells, brace groups, loops, conditionals, functions,
   command and process substitutions, heredocs and herestrings all yield their simple commands.
3. Resolve each word's quotes; what only exists at run time (``$DIR``, ``$(…)``) becomes
   :data:`~interlock.analyzers.DYN`. Plain assignments earlier in the same string are followed
   (``D=/; rm -rf $D``), as is ``cd`` (``cd / && rm -rf *``).
4. Hand each :class:`~interlock.analyzers.SimpleCommand` to :mod:`.commands`, which unwraps
   wrappers and asks the catalogs.
5. Output redirections are judged by where they write (``: > /etc/passwd``).

The parse is cached per input string: a hook asks once, but the corpus and benchmarks repeat.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from tree_sitter import Language, Node, Parser, Tree

# commands imports this module too: each reads the other's names at call time, not import time.
from interlock.analyzers import DYN, Scope, SimpleCommand, commands, encode, tools, unknown
from interlock.config import MAX_INPUT_BYTES
from interlock.decisions import Finding
from interlock.frozen import replace
from interlock.paths import resolve

MAX_DEPTH = 8
"""Nested ``bash -c`` / ``eval`` levels followed before giving up with ``ask``."""
MAX_COMMAND_BYTES = 256 * 1024
"""Longer shell strings are not parsed (``ask``): no agent types a 256 KB command, and the walk's
cost grows with the input."""
MAX_NESTING = 64
"""Nested constructs (subshells, ``$(…)``, groups) followed before giving up with ``ask``: the walk
recurses, and 5,000 ``(`` overflowed Python's stack (red-team)."""
MAX_VALUE = 64 * 1024
"""A word, variable or written file longer than this is unknown (DYN): ``a=$a$a`` forty times
doubled a string to a terabyte (red-team)."""
MAX_CWD = 4096
"""PATH_MAX: a ``cd`` chain building a longer folder makes the folder unknown."""
MAX_LOOP_WALKS = 256
"""Loop bodies walked once per word of a literal ``for`` list, in all (``for d in a b; do rm
-rf "$d"; done``); past this, nested loops would multiply, so the variable becomes unknown."""
MAX_SHARED_VARIABLES = 256
"""Variables handed to code the same shell runs later (``eval``, ``trap``); more: none."""


@lru_cache(maxsize=1)
def _parser() -> Parser:
    import tree_sitter_bash

    return Parser(Language(tree_sitter_bash.language()))


@lru_cache(maxsize=256)
def _parse(source: bytes) -> Tree:
    text = _FOUR_BYTE.sub(_two_letters, source)
    tree = _parser().parse(text)
    if tree.root_node.has_error and b"~" in text:
        # tree-sitter-bash reads a lone `~` in a test as an operator: `[ -d ~ ]` and
        # `[[ -d ~ ]]` do not parse. A letter in its place parses as the word it is; the walk
        # reads the original `~` at the same offset. Only when the input failed to parse.
        again = _parser().parse(_LONE_TILDE.sub(b"\\1_", text))
        if not again.root_node.has_error:
            return again
    return tree


# tree-sitter-bash 0.25.1 reads out of bounds, and kills the process with SIGSEGV on Linux, on a
# `{` followed by any 4-byte UTF-8 lead byte (tree-sitter-bash#337; the red-team's fuzzing hit it
# with `d{\U000e5b06`). A hook that dies by a signal does not deny. The parser gets a copy with
# each such sequence replaced by letters of the same byte length, so every node's offsets still
# point at the original text, which is what the walk reads.
_FOUR_BYTE = re.compile(rb"[\xf0-\xf7][\x80-\xbf]{0,3}")
_LONE_TILDE = re.compile(rb"(^|[\s(\[])~(?=[\s;&|)\]]|$)", re.MULTILINE)
_LETTERS = {1: b"_", 2: "é".encode(), 3: "é_".encode(), 4: "éé".encode()}


def _two_letters(match: re.Match[bytes]) -> bytes:
    return _LETTERS[len(match.group())]


def analyze(
    command: str, scope: Scope, variables: tuple[tuple[str, str], ...] = ()
) -> list[Finding]:
    """Findings for a whole shell string (a hook's ``command``, a ``bash -c`` argument).

    ``variables``: what the shell running it already holds (``eval`` and ``trap`` bodies run
    in the shell that set them)."""
    findings: list[Finding] = []
    data = encode(command)
    if len(data) > _MAX_BYTES:
        return [unparsed(command, "the command is over 256 KB, too large to analyse")]
    if scope.depth > MAX_DEPTH:
        return [unparsed(command, f"wrappers nested more than {MAX_DEPTH} deep")]
    tree = _parse(data)
    root = tree.root_node
    if root.has_error:
        findings.append(unparsed(command, "the shell parser could not read it: " + _error_at(tree)))
    walker = _Walker(scope, data, parsed_clean=not root.has_error)
    # Each level has its own bound (MAX_NESTING, MAX_DEPTH, wrappers), but the bounds multiply:
    # 8 nested `bash -c`, each behind 60 `sudo`, still overflowed the stack. What overflows is
    # unreadable (ask), and the findings already made are kept.
    try:
        walker.visit(root, _State(scope.cwd, dict(variables)))
    except RecursionError:
        walker.findings.append(unparsed(command, _TOO_DEEP))
    if walker.traps:
        walker.settle_traps()
    findings.extend(walker.findings)
    for simple in walker.commands:
        try:
            findings.extend(commands.analyze_command(simple))
        except RecursionError:
            findings.append(unparsed(simple.text, _TOO_DEEP))
    return findings


_TOO_DEEP = "nesting too deep to analyse"
_MAX_BYTES = min(MAX_INPUT_BYTES, MAX_COMMAND_BYTES)


def unparsed(text: str, why: str) -> Finding:
    return unknown(
        f"cannot tell what this does ({why})",
        rule="shell.unparsed",
        operation="shell.unparsed",
        evidence=_short(text),
    )


def _error_at(tree: Tree) -> str:
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            return f"syntax error at line {row + 1}, column {col + 1}"
        stack.extend(reversed(node.children))
    return "syntax error"


def _short(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _State:
    """What the walk knows at a point of the script; copied into subshells.

    A plain class with slots, not a dataclass: the walk makes one per subshell and pipeline
    element, and reads its fields at every word."""

    __slots__ = ("cwd", "files", "stdin", "stdin_unknown", "variables")

    def __init__(
        self,
        cwd: str | None,
        variables: dict[str, str],
        stdin: str | None = None,
        stdin_unknown: bool = False,
        files: dict[str, str] | None = None,
    ) -> None:
        self.cwd = cwd
        self.variables = variables
        self.stdin = stdin
        self.stdin_unknown = stdin_unknown
        self.files: dict[str, str] = {} if files is None else files
        """Files this script wrote with known content, by absolute path."""

    def fork(self) -> _State:
        # Standard input goes with it: `curl … | (sh)` and `curl … | echo "$(sh)"` read the
        # pipe as surely as `curl … | sh` (a subshell allowed what the plain form asked).
        return _State(self.cwd, dict(self.variables), self.stdin, self.stdin_unknown, self.files)


# Node types whose children are walked in order, sharing state (cd and assignments carry on).
_SEQUENTIAL = frozenset(
    [
        "program",
        "list",
        "compound_statement",
        "do_group",
        "if_statement",
        "elif_clause",
        "else_clause",
        "while_statement",
        "until_statement",
        "for_statement",
        "c_style_for_statement",
        "case_statement",
        "case_item",
        "negated_command",
        "test_command",
    ]
)
# Node types that run in a child shell: state changes do not leak out.
_FORKED = frozenset({"subshell", "command_substitution", "process_substitution"})

_KNOWN_VARIABLES = ("HOME", "PWD", "USER")
_SETS_VARIABLES = frozenset({"read", "mapfile", "readarray", "getopts", "let", "unset"})
_SETS_OR_RUNS = _SETS_VARIABLES | {"printf", "source", ".", "eval"}
"""First words :meth:`_Walker._track_variables` acts on (besides the script's functions)."""


_MAY_SHARE = frozenset({"eval", "trap", "builtin", "command"})
"""First words :func:`_shares_variables` can say yes to."""
_MOVES = frozenset({"cd", "pushd", "popd"})
_WORDS = frozenset({"name", "argument"})
"""The fields of a command node that hold its words."""


def _shares_variables(argv: list[str]) -> bool:
    """``eval``/``trap`` (also behind ``builtin``/``command``) run code in this shell."""
    first = argv[1] if argv[0] in ("builtin", "command") and len(argv) > 1 else argv[0]
    return first in ("eval", "trap")


_UNKNOWN_LINE = "$__interlock_unknown_content__\n"
"""Stands for script text that cannot be known: a command named by an unset variable asks."""


class _Walker:
    """One walk over one parsed string: the commands found, the findings made on the way."""

    __slots__ = (
        "assigned",
        "commands",
        "findings",
        "functions",
        "loop_walks",
        "nesting",
        "parsed_clean",
        "scope",
        "source",
        "too_deep",
        "traps",
    )

    def __init__(self, scope: Scope, source: bytes, parsed_clean: bool = False) -> None:
        self.scope = scope
        self.source = source
        self.parsed_clean = parsed_clean
        """The tree has no error: each nested node is then wider than the one it is in (see
        :meth:`_no_substitutions`)."""
        self.commands: list[SimpleCommand] = []
        self.findings: list[Finding] = []
        self.nesting = 0
        self.too_deep = False
        self.loop_walks = MAX_LOOP_WALKS
        self.assigned: dict[str, int] = {}
        """How often each variable was set anywhere in the script: a ``trap`` body sees a
        variable only if nothing set it after the trap was."""
        self.functions: dict[str, tuple[frozenset[str], bool]] = {}
        """Functions defined in the script: the variables their bodies set, and whether they
        cd."""
        self.traps: list[tuple[int, dict[str, int]]] = []

    # -- traversal -----------------------------------------------------------------------

    def _enter(self, node: Node) -> bool:
        """Count one level down; False (and one ``ask``) once :data:`MAX_NESTING` is passed."""
        if self.nesting < MAX_NESTING:
            self.nesting += 1
            return True
        if not self.too_deep:
            self.too_deep = True
            self.findings.append(
                unparsed(self.text(node), f"{_TOO_DEEP} (over {MAX_NESTING} levels)")
            )
        return False

    def visit(self, node: Node, state: _State) -> None:
        handler = _HANDLERS.get(node.type)
        if self.nesting < MAX_NESTING:  # _enter(), written out: this runs for every node
            if handler is _Walker._skip:
                return  # a comment: entering and leaving its level would change nothing
            self.nesting += 1
        elif not self._enter(node):
            return
        try:
            if handler is None:
                self._substitutions(node, state)
            else:
                handler(self, node, state)
        finally:
            self.nesting -= 1

    def _skip(self, node: Node, state: _State) -> None:
        """Comments: nothing runs."""

    def _heredoc_body(self, node: Node, state: _State) -> None:
        if node.named_children:
            self._substitutions(node, state)

    def _forked(self, node: Node, state: _State) -> None:
        self._children(node, state.fork())

    def _declaration(self, node: Node, state: _State) -> None:
        # `local d` / `declare d` empty it (in a function); `export d` keeps its value.
        keeps = node.children and self.text(node.children[0]) in ("export", "readonly")
        for child in node.named_children:
            if child.type == "variable_assignment":
                self._assignment(child, state)
            elif child.type == "variable_name" and not keeps:
                self._set(state, self.text(child), DYN)
            else:
                self._substitutions(child, state)

    def _unset(self, node: Node, state: _State) -> None:
        # `d=/tmp/x; unset d; rm -rf "/$d"` deletes `/`: an unset name is not followed.
        for child in node.named_children:
            if child.type == "variable_name":
                self._set(state, self.text(child), DYN)

    def _for(self, node: Node, state: _State) -> None:
        """``for d in dist build; do rm -rf "$d"; done``: the body once per literal word, as bash
        runs it. A list with anything unknown in it (``$(ls)``, ``"$@"``), ``select``, or loops
        past :data:`MAX_LOOP_WALKS`: the body once, with the variable unknown."""
        variable = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        if variable is None:
            self._children(node, state)
            return
        name = self.text(variable)
        values = node.children_by_field_name("value")
        words = [w for value in values for w in self.words(value, state)]
        literal = values and body is not None and not any(DYN in w for w in words)
        if node.type == "for_statement" and literal and len(words) <= self.loop_walks:
            self.loop_walks -= len(words)
            for word in words:
                self._set(state, name, word)
                self.visit(body, state)  # type: ignore[arg-type]
            return
        self._set(state, name, DYN)
        self._children(node, state)

    def _set(self, state: _State, name: str, value: str) -> None:
        self.assigned[name] = self.assigned.get(name, 0) + 1
        state.variables[name] = value if len(value) <= MAX_VALUE else DYN

    def _function(self, node: Node, state: _State) -> None:
        """``f() { d=/; cd /x; }``: the body is judged where it is written, in a copy of the
        state; a later call of ``f`` makes what it sets unknown, and the folder if it moves."""
        before, body = dict(self.assigned), state.fork()
        self._children(node, body)
        name_node = node.child_by_field_name("name")
        if name_node is not None:
            changed = frozenset(k for k, n in self.assigned.items() if before.get(k) != n)
            self.functions[self.text(name_node)] = (changed, body.cwd != state.cwd)

    def _track_variables(self, argv: list[str], state: _State) -> None:
        """Commands that set variables the walk cannot follow: those become unknown.

        ``d=/tmp/x; unset d; rm -rf "/$d"`` deletes ``/``; so does ``read d`` with ``/`` as
        input, a function that sets ``d``, or a sourced file."""
        name = argv[0]
        if name in _SETS_VARIABLES or (name == "printf" and "-v" in argv):
            for arg in argv[1:]:
                if arg.isidentifier():
                    self._set(state, arg, DYN)
        elif name in self.functions:
            names, moves = self.functions[name]
            for variable in names:
                self._set(state, variable, DYN)
            if moves:
                state.cwd = None
        elif name in ("source", ".", "eval") and argv[1:] != ["--help"]:
            for variable in list(state.variables):
                self._set(state, variable, DYN)

    def settle_traps(self) -> None:
        """A trap body runs later: it keeps only variables nobody set after the trap."""
        for index, counts in self.traps:
            simple = self.commands[index]
            kept = tuple(
                (k, v) for k, v in simple.variables if self.assigned.get(k) == counts.get(k)
            )
            self.commands[index] = replace(simple, variables=kept)

    def _children(self, node: Node, state: _State) -> None:
        for child in node.children:
            self.visit(child, state)

    def _list(self, node: Node, state: _State) -> None:
        """``a && b || c …``: tree-sitter nests each operator one level down on the left, so a
        long chain is walked as the flat sequence it is, not as nesting."""
        items: list[Node] = []
        while node.type == "list" and node.child_count:
            children = node.children
            items.extend(reversed(children[1:]))
            node = children[0]
        items.append(node)
        for item in reversed(items):
            self.visit(item, state)

    def _no_substitutions(self, node: Node) -> bool:
        """True when :meth:`_substitutions` would find nothing in ``node`` and stay in bounds.

        Every ``$(…)``, backtick and ``<(…)`` spans a ``(`` or a backtick, so a command without
        either holds none. The search also counts levels against :data:`MAX_NESTING`: in a tree
        without errors each level below a command is at least a byte narrower than the one
        above (a lone ``command_name`` around its word aside), so a command narrower than the
        levels left cannot reach the bound either. Skipping the search (a quarter of the walk
        of a plain command) then changes nothing.
        """
        start, end = node.start_byte, node.end_byte
        return (
            self.parsed_clean
            and self.nesting + (end - start) + 4 < MAX_NESTING
            and self.source.find(b"(", start, end) == -1
            and self.source.find(b"`", start, end) == -1
        )

    def _substitutions(self, node: Node, state: _State) -> None:
        """Commands hidden inside words: ``$(…)``, backticks, ``<(…)``, ``${x:-$(…)}``."""
        if not self._enter(node):
            return
        try:
            for child in node.children:
                kind = child.type
                if kind in ("command_substitution", "process_substitution"):
                    self._command_substitution(child, state)
                elif kind == "heredoc_body" or child.child_count:
                    self._substitutions(child, state)
        finally:
            self.nesting -= 1

    def _command_substitution(self, node: Node, state: _State) -> None:
        inner = self.text(node)
        if inner.startswith("`") and "\\`" in inner:
            # Nested backticks: bash un-escapes \` and \\ and parses the body again
            # (deps.md §1, the one case tree-sitter gets wrong on its own).
            body = inner[1:-1].replace("\\\\", "\\").replace("\\`", "`")
            self.findings.extend(analyze_nested(body, self.scope, state.cwd))
            return
        self._children(node, state.fork())

    def _scope_at(self, cwd: str | None) -> Scope:
        """The walk's scope with the working directory the script has reached."""
        if cwd == self.scope.cwd:
            return self.scope  # frozen and equal: no copy for each word of every command
        return replace(self.scope, cwd=cwd)

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "surrogateescape")

    # -- statements ----------------------------------------------------------------------

    def _assignment(self, node: Node, state: _State) -> None:
        self._substitutions(node, state)
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        if name_node is None:
            return
        name = self.text(name_node)
        self.findings.extend(tools.guard_variable(name, self.scope, _short(self.text(node))))
        value = "" if value_node is None else self.word(value_node, state)
        if name in _KNOWN_VARIABLES or name.isidentifier():
            self._set(state, name, value)

    def _redirected(self, node: Node, state: _State) -> None:
        body = node.child_by_field_name("body")
        redirects = [c for c in node.children if c is not body]
        if body is not None and body.type == "command":
            self._command(body, state, redirects)
            return
        # `{ sh; } <<< 'rm -rf ~'`, `(bash) < x.sh`: the group's commands read that input. The
        # group shares the rest of the state (a `cd` in it carries on), so only stdin is swapped.
        outer = state.stdin, state.stdin_unknown
        state.stdin, state.stdin_unknown = self._input(redirects, state, *outer)
        try:
            if body is not None:
                self.visit(body, state)
        finally:
            state.stdin, state.stdin_unknown = outer

    def _input(
        self, redirects: list[Node], state: _State, stdin: str | None, stdin_unknown: bool
    ) -> tuple[str | None, bool]:
        """Judge each redirection; return what standard input becomes (text, unknown)."""
        for redirect in redirects:
            body = _heredoc_body(redirect, self)
            if body is not None:
                stdin, stdin_unknown = body, False
                if redirect.type == "heredoc_redirect" and _heredoc_expands(redirect, self):
                    self._substitutions(redirect, state)
            elif redirect.type == "herestring_redirect":
                literal = self._herestring(redirect, state)
                stdin, stdin_unknown = literal, literal is None
            elif _redirect_parts(redirect)[0] == "<":
                # `psql < cleanup.sql`: input from a file; known only if written just before.
                target = _redirect_parts(redirect)[1]
                stdin = None
                if target is not None:
                    path = resolve(self.word(target, state), self._scope_at(state.cwd))
                    stdin = "" if path == "/dev/null" else state.files.get(path)
                stdin_unknown = stdin is None
                self._redirect(redirect, state)  # `cat < ~/.aws/credentials` reads a secret
            else:
                self._redirect(redirect, state)
        return stdin, stdin_unknown

    def _pipeline(self, node: Node, state: _State) -> None:
        producer: Node | None = None
        said: _Words | None = None
        """The producer's name and words, read once for the three questions asked of it."""
        incoming: str | None = state.stdin
        decoded = False
        for child in node.named_children:
            # Every element of a pipeline runs in its own subshell.
            element = state.fork()
            words: _Words | None = None
            if producer is not None:
                said = said or self._words_of(producer, state)
                decoded = decoded or _is_decoder(said)
                incoming = self._output_of(producer, said, incoming)
                element.stdin, element.stdin_unknown = incoming, incoming is None
                if decoded:
                    words = self._words_of(child, state)
                    if _runs_code(words):
                        # Encoding a command to hide it from review is a reason to ask,
                        # whatever it decodes to (issue #2: decoded base64/hex fed to a shell).
                        self.findings.append(
                            unknown(
                                "decodes hidden text and runs it as code",
                                rule="shell.decode_to_shell",
                                operation="shell.obfuscated",
                                evidence=_short(self.text(node)),
                            )
                        )
            self.visit(child, element)
            producer, said = child, words

    def _words_of(self, node: Node, state: _State) -> _Words:
        """A pipeline element's program name as written and its arguments, one string per
        argument (no splitting): ("", []) for anything but a simple command. Read with the
        pipeline's state, which running an element (in its own subshell) does not change."""
        command = node.child_by_field_name("body") if node.type == "redirected_statement" else node
        if command is None or command.type != "command":
            return _NOT_A_COMMAND
        name_node = command.child_by_field_name("name")
        name = self.word(name_node, state) if name_node is not None else ""
        return name, [self.word(w, state) for w in _argument_nodes(command)], True

    def _output_of(self, node: Node, said: _Words, incoming: str | None) -> str | None:
        """What a pipeline element writes, when it can be known without running it.

        ``echo``/``printf`` of literals, ``cat <<EOF``, and decoders of known input
        (``echo cm0gLXJmIC8K | base64 -d | sh`` is judged as ``rm -rf /``).
        """
        name, argv, command = said
        if not command or any(DYN in a for a in argv) or DYN in name:
            return None
        if name == "echo":
            return _echo(argv)
        if name == "printf" and argv and "%" not in argv[0]:
            return _printf(argv[0])
        if name == "yes":
            # Endless copies of one line; one stands for them (`yes | terraform apply`).
            return (" ".join(argv) if argv else "y") + "\n"
        if incoming is not None and name in ("base64", "xxd", "cat", "tr", "rev"):
            return _decode(name, argv, incoming)
        if name == "cat" and not argv and node.type == "redirected_statement":
            for redirect in node.children:
                body = _heredoc_body(redirect, self)
                if body is not None:
                    return body
        return None

    def _command(self, node: Node, state: _State, redirects: list[Node] | None = None) -> None:
        if not self._no_substitutions(node):
            self._substitutions(node, state)
        if redirects is None:
            redirects = []
        assignments: list[tuple[str, str]] = []
        argv: list[str] = []
        stdin, stdin_unknown = state.stdin, state.stdin_unknown
        # Field names by index: looking each child up again made `echo a a a …` quadratic
        # (40 KB took 11 s; red-team).
        for index, child in enumerate(node.children):
            kind = child.type
            if kind == "variable_assignment":
                name_node = child.child_by_field_name("name")
                value_node = child.child_by_field_name("value")
                if name_node is not None:
                    value = "" if value_node is None else self.word(value_node, state)
                    assignments.append((self.text(name_node), value))
            elif kind in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                redirects.append(child)
            elif kind == "command_name" or node.field_name_for_child(index) in _WORDS:
                if kind == "command_name" and child.named_child_count == 1:
                    child = child.named_children[0]  # as words() would
                    kind = child.type
                if kind == "word":  # most words: words() written out
                    word = self.source[child.start_byte : child.end_byte].decode(
                        "utf-8", "surrogateescape"
                    )
                    if "\\" in word:
                        word = _unescape(word)
                    if "{" in word and "," in word:
                        argv.extend(_brace_expand(word))
                    else:
                        argv.append(word)
                else:
                    argv.extend(self.words(child, state))
        if sum(map(len, argv)) > 4 * MAX_VALUE:
            # `echo $a $a $a …` with a long $a: judge what fits, the rest is unknown.
            argv = _within(argv, 4 * MAX_VALUE)
            self.findings.append(unparsed(self.text(node), "its words expand to too much text"))
        if redirects:
            stdin, stdin_unknown = self._input(redirects, state, stdin, stdin_unknown)
            self._track_written(node, argv, redirects, stdin, state)
        scope = self.scope if state.cwd == self.scope.cwd else self._scope_at(state.cwd)
        simple = SimpleCommand(
            argv=tuple(argv),
            text=self.text(node),
            scope=scope,
            assignments=tuple(assignments),
            stdin=stdin,
            stdin_unknown=stdin_unknown,
            scripts=tuple(state.files.items()),
        )
        if argv:
            first = argv[0]
            if (
                first in _MAY_SHARE
                and _shares_variables(argv)
                and len(state.variables) <= MAX_SHARED_VARIABLES
            ):
                simple = replace(simple, variables=tuple(state.variables.items()))
                if "trap" in argv[:2]:
                    self.traps.append((len(self.commands), dict(self.assigned)))
            self.commands.append(simple)
            if first in _MOVES:
                self._track_cd(argv, state)
            if first in _SETS_OR_RUNS or first in self.functions:
                self._track_variables(argv, state)
        else:
            for name, value in assignments:
                self._set(state, name, value)

    def _track_written(
        self,
        node: Node,
        argv: list[str],
        redirects: list[Node],
        stdin: str | None,
        state: _State,
    ) -> None:
        """``echo 'rm -rf /' > x.sh``: remember what x.sh holds, for a later ``bash x.sh``."""
        content: str | None = None
        if argv and argv[0] == "echo" and not any(DYN in a for a in argv):
            content = _echo(argv[1:])
        elif argv and argv[0] == "printf" and len(argv) == 2 and DYN not in argv[1]:
            content = _printf(argv[1])
        elif argv in (["cat"], ["tee"]) and stdin is not None:
            content = stdin
        for redirect in redirects:
            operator, target = _redirect_parts(redirect)
            if target is None or operator not in (">", ">>", ">|", "&>"):
                continue
            path = resolve(self.word(target, state), self._scope_at(state.cwd))
            if DYN in path:
                continue
            if operator == ">>" and path in state.files:
                # Appending what cannot be known keeps what was known, and a line that asks:
                # dropping the file made `echo 'rm -rf /' > x.sh; echo $X >> x.sh; sh x.sh` allow.
                content = state.files[path] + (_UNKNOWN_LINE if content is None else content)
            if content is None:
                state.files.pop(path, None)
            elif len(content) > MAX_VALUE:
                state.files[path] = content[:MAX_VALUE] + "\n" + _UNKNOWN_LINE
            else:
                state.files[path] = content

    def _track_cd(self, argv: list[str], state: _State) -> None:
        if argv[0] not in _MOVES:
            return
        target = [a for a in argv[1:] if not a.startswith("-")]
        if argv[0] == "popd" or (target and target[0] == "-"):
            state.cwd = None
        elif not target:
            state.cwd = self.scope.policy.home
        else:
            here = self._scope_at(state.cwd)
            path = resolve(target[0], here)
            state.cwd = None if DYN in path or len(path) > MAX_CWD else path

    def _herestring(self, node: Node, state: _State) -> str | None:
        for child in node.named_children:
            value = self.word(child, state)
            return None if DYN in value else value + "\n"
        return None

    def _redirect(self, node: Node, state: _State) -> None:
        """``> f``, ``>> f``, ``&>> f``, ``< f``: judged as the file tools' writes and reads
        (:func:`.tools.redirect`), so ``>> /etc/passwd`` is as bad as ``> /etc/passwd``."""
        operator, target = _redirect_parts(node)
        if target is None:
            return
        self.findings.extend(
            tools.redirect(
                operator,
                self.word(target, state),
                self._scope_at(state.cwd),
                _short(self.text(node.parent or node)),
            )
        )

    # -- words ---------------------------------------------------------------------------

    def words(self, node: Node, state: _State) -> list[str]:
        """One node's words after brace expansion and word splitting.

        ``/{etc,usr}`` is two words; so is an unquoted ``$x`` holding ``rm -rf /``. Once the
        script sets IFS, how unquoted expansions split is not followed: they become unknown.
        """
        kind = node.type
        if kind == "command_name" and node.named_child_count == 1:
            node = node.named_children[0]
            kind = node.type
        if kind == "word":  # most words: read here rather than through word()
            word = _unescape(self.text(node))
            return _brace_expand(word) if "{" in word and "," in word else [word]
        if kind in ("simple_expansion", "expansion", "command_substitution"):
            if "IFS" in state.variables:
                return [DYN]
            value = self.word(node, state)
            return value.split() if value.strip() and DYN not in value else [value]
        word = self.word(node, state)
        if kind == "concatenation" and "{" in word and "," in word:
            return _brace_expand(word)
        return [word]

    def word(self, node: Node, state: _State) -> str:
        kind = node.type
        if kind in ("word", "number", "command_name"):
            if kind == "command_name":
                return _joined([self.word(c, state) for c in node.children])
            return _unescape(self.text(node))
        if kind == "raw_string":
            return self.text(node)[1:-1]
        if kind == "ansi_c_string":
            return _ansi_c(self.text(node)[2:-1])
        if kind in ("string", "translated_string"):
            return _joined([self._string_part(c, state) for c in node.children])
        if kind == "concatenation":
            return _joined([self.word(c, state) for c in node.children])
        if kind in ("simple_expansion", "expansion"):
            return self._expansion(node, state)
        if kind == "string_content":
            return self.text(node)
        if kind == "command_substitution":
            return self._substituted(node, state)
        return DYN

    def _substituted(self, node: Node, state: _State) -> str:
        """What ``$(…)`` prints, for the two commands whose output is known without running
        them: ``$(pwd)`` is the working directory, ``$(mktemp …)`` a fresh path in the temp
        folder (``d=$(mktemp -d); rm -rf "$d"`` deletes only what the script made)."""
        inner = node.named_children
        if len(inner) != 1 or inner[0].type != "command":
            return DYN
        command = inner[0]
        name_node = command.child_by_field_name("name")
        if name_node is None or any(c.type.endswith("redirect") for c in command.children):
            return DYN
        name = self.word(name_node, state)
        argv = [self.word(a, state) for a in _argument_nodes(command)]
        if any(DYN in a for a in argv):
            return DYN
        if name == "pwd" and set(argv) <= {"-L", "-P"}:
            return DYN if state.cwd is None else state.cwd
        if name == "mktemp":
            return self._mktemp(argv, state)
        return DYN

    def _mktemp(self, argv: list[str], state: _State) -> str:
        """The path ``mktemp`` makes (GNU and BSD): in $TMPDIR (``/tmp``) without a template or
        with ``-t``; else the template, relative to the working directory. Its X's stay X's:
        the random part does not change where the path lands. ``-p DIR`` and the rest: unknown."""
        template: str | None = None
        in_tmpdir = False
        for arg in argv:
            if arg.startswith("--"):
                if arg not in ("--directory", "--quiet", "--dry-run") and not arg.startswith(
                    "--suffix="
                ):
                    return DYN
            elif arg.startswith("-") and len(arg) > 1:
                if not set(arg[1:]) <= set("dqut"):
                    return DYN
                in_tmpdir = in_tmpdir or "t" in arg
            elif template is None:
                template = arg
            else:
                return DYN
        tmpdir = state.variables.get("TMPDIR", "/tmp")
        if template is None or (in_tmpdir and "/" not in template):
            return (
                DYN if DYN in tmpdir else tmpdir.rstrip("/") + "/" + (template or "tmp.XXXXXXXXXX")
            )
        if in_tmpdir:
            return DYN  # -t with a path in the template: BSD and GNU disagree
        path = resolve(template, self._scope_at(state.cwd))
        return DYN if DYN in path else path

    def _string_part(self, node: Node, state: _State) -> str:
        if node.type == '"' or node.type == '$"':
            return ""
        if node.type == "string_content":
            return re.sub(r"\\([$`\"\\\n])", r"\1", self.text(node))
        return self.word(node, state)

    def _expansion(self, node: Node, state: _State) -> str:
        names = [c for c in node.named_children if c.type == "variable_name"]
        plain = len(node.named_children) == 1 and names
        if not plain:
            return DYN  # ${x:-…}, ${#x}, ${x/a/b}: only known at run time
        name = self.text(names[0])
        if name in state.variables:
            return state.variables[name]
        if name == "HOME":
            return self.scope.policy.home
        if name == "PWD" and state.cwd is not None:
            return state.cwd
        return DYN


_Handler = Callable[[_Walker, Node, _State], None]
_HANDLERS: dict[str, _Handler] = {
    **{kind: _Walker._children for kind in ("command_name", *_SEQUENTIAL)},
    **{kind: _Walker._forked for kind in _FORKED},
    "comment": _Walker._skip,
    "heredoc_body": _Walker._heredoc_body,
    "list": _Walker._list,
    "command": _Walker._command,
    "redirected_statement": _Walker._redirected,
    "pipeline": _Walker._pipeline,
    "variable_assignment": _Walker._assignment,
    "declaration_command": _Walker._declaration,
    "unset_command": _Walker._unset,
    "for_statement": _Walker._for,
    "select_statement": _Walker._for,
    "function_definition": _Walker._function,
}
"""What :meth:`_Walker.visit` does with each node type; any other type is searched for
``$(…)`` and ``<(…)`` (:meth:`_Walker._substitutions`)."""


_Words = tuple[str, list[str], bool]
"""A pipeline element as :meth:`_Walker._words_of` reads it: name, arguments, and whether it is
a simple command at all."""
_NOT_A_COMMAND: _Words = ("", [], False)


def _is_decoder(said: _Words) -> bool:
    name, argv = said[0].rsplit("/", 1)[-1], said[1]
    return (
        (name == "base64" and any(a in ("-d", "--decode", "-D") for a in argv))
        or (name == "xxd" and "-r" in argv)
        or name in ("openssl", "gunzip", "zcat", "uudecode", "rev", "tr")
        # `echo -e '\x72\x6d -rf /'`: letters spelled as escapes hide a command as base64 does
        or (name in ("echo", "printf") and any(_has_code_escape(a) for a in argv))
    )


def _runs_code(said: _Words) -> bool:
    name = said[0].rsplit("/", 1)[-1]
    return (
        name in commands.SHELLS
        or name.rstrip("0123456789.") in commands.INTERPRETERS
        or name in ("eval", "source", ".", "xargs")
    )


def analyze_nested(
    body: str, scope: Scope, cwd: str | None, variables: tuple[tuple[str, str], ...] = ()
) -> list[Finding]:
    """Analyze a string the shell will parse again (``bash -c``, ``eval``, backticks)."""
    return analyze(body, replace(scope, cwd=cwd, depth=scope.depth + 1), variables)


def _decode(name: str, argv: list[str], data: str) -> str | None:
    import base64
    import binascii

    try:
        if name == "base64" and any(a in ("-d", "--decode", "-D") for a in argv):
            return base64.b64decode("".join(data.split()), validate=False).decode("utf-8")
        if name == "xxd" and "-r" in argv and "-p" in argv:
            return binascii.unhexlify("".join(data.split())).decode("utf-8")
        if name == "rev" and not argv:
            return "\n".join(line[::-1] for line in data.split("\n"))
        if name == "cat" and not argv:
            return data
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def _echo(argv: list[str]) -> str:
    """What ``echo ARGS`` prints. Bash reads escapes only after ``-e``; zsh's and dash's echo
    always do (zsh is the macOS login shell), so without ``-e`` or ``-E`` text holding escapes
    stands for both readings, one line each: fail closed either way."""
    options = ""
    while argv and len(argv[0]) > 1 and argv[0][0] == "-" and set(argv[0][1:]) <= set("neE"):
        options += argv[0][1:]
        argv = argv[1:]
    text = " ".join(argv)
    escapes = "e" in options and "E" not in options[options.rindex("e") :]
    if escapes:
        return _echo_escapes(text)
    newline = "" if "n" in options else "\n"
    if "\\" in text and "E" not in options:
        decoded = _echo_escapes(text)
        if decoded.rstrip("\n") != text:
            return text + "\n" + decoded
    return text + newline


def _echo_escapes(text: str) -> str:
    r"""``echo -e``: ``\0NNN`` is octal (bash's form), ``\c`` ends the output, the rest as
    ``$'…'``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] == "c":
            return "".join(out)
        if char == "\\" and text[i + 1 : i + 2] == "0":
            j = i + 2
            while j < len(text) and j < i + 5 and text[j] in "01234567":
                j += 1
            out.append(chr(int(text[i + 2 : j] or "0", 8)))
            i = j
            continue
        if char == "\\" and text[i + 1 : i + 2].isdigit():
            out.append(text[i : i + 2])  # bash's echo leaves \1 alone
            i += 2
            continue
        out.append(char)
        i += 1
    return _ansi_c("".join(out)) + "\n"


def _has_code_escape(word: str) -> bool:
    """Whether ``word`` spells characters as hex, octal or unicode escapes (``\x72``)."""
    index = word.find("\\")
    while index != -1 and index + 1 < len(word):
        if word[index + 1] in "xuU01234567":
            return True
        index = word.find("\\", index + 2)
    return False


def _printf(text: str) -> str:
    """What ``printf FORMAT`` prints for a format without conversions."""
    if "\\" not in text:
        return text
    try:
        return codecs.decode(text, "unicode_escape")
    except UnicodeDecodeError:
        return text


def _redirect_parts(node: Node) -> tuple[str, Node | None]:
    if node.type != "file_redirect":
        return "", None
    operator = ""
    target: Node | None = None
    for child in node.children:
        if not child.is_named:
            operator = child.type
        elif child.type != "file_descriptor":
            target = child
    return operator, target


def _argument_nodes(command: Node) -> Iterator[Node]:
    for index, child in enumerate(command.children):
        if command.field_name_for_child(index) == "argument":
            yield child


def _heredoc_body(redirect: Node, walker: _Walker) -> str | None:
    if redirect.type != "heredoc_redirect":
        return None
    for child in redirect.children:
        if child.type == "heredoc_body":
            return walker.text(child)
    return ""


def _heredoc_expands(redirect: Node, walker: _Walker) -> bool:
    for child in redirect.children:
        if child.type == "heredoc_start":
            return not any(q in walker.text(child) for q in ("'", '"', "\\"))
    return True


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", r"\1", text.replace("\\\n", ""))


_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
    "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip
_HEX = frozenset(b"0123456789abcdefABCDEF")
_OCTAL = frozenset(b"01234567")


def _ansi_c(body: str) -> str:
    r"""What bash makes of ``$'…'`` (bash 5.2, ``ansicstr`` in lib/sh/strtrans.c), in a UTF-8
    locale.

    Worked on bytes, as bash does: ``\xNN`` and octal escapes are bytes (``\xc3\xa9`` is one
    é), ``\u``/``\U`` are encoded as UTF-8 (code points past U+10FFFF as bash's long forms, past
    0x7FFFFFFF as nothing), and a NUL ends the string. Bytes that are not UTF-8 come back as
    surrogate escapes, like the rest of the parsed text. An escape that is not one (``\x`` with
    no digit, a trailing ``\c``) stays as written, backslash and all: the red-team's ``$'\x'``
    crashed the first version of this decoder.
    """
    data = encode(body)
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        i += 1
        if byte != 0x5C or i >= n:  # not a backslash, or a lone one at the end
            out.append(byte)
            continue
        code = chr(data[i])
        i += 1
        if code in "01234567":
            start = i - 1
            while i < n and i - start < 3 and data[i] in _OCTAL:
                i += 1
            out.append(int(data[start:i], 8) & 0xFF)
        elif code == "x":
            braced = i < n and data[i] == 0x7B  # \x{HHH…}
            start = i + braced
            i = start
            while i < n and data[i] in _HEX and (braced or i - start < 2):
                i += 1
            if i == start and not braced:
                out += b"\\x"
                continue
            value = int(data[start:i] or b"0", 16)
            if braced and i < n and data[i] == 0x7D:
                i += 1
            out.append(value & 0xFF)
        elif code in "uU":
            start = i
            while i < n and data[i] in _HEX and i - start < (4 if code == "u" else 8):
                i += 1
            if i == start:
                out += b"\\" + code.encode()
                continue
            out += _utf8_long(int(data[start:i], 16))
        elif code == "c":
            if i >= n:
                out += b"\\c"
                continue
            target = data[i]
            i += 1
            if target == 0x5C and i < n and data[i] == 0x5C:
                i += 1  # POSIX: $'\c\\' is control-backslash
            # TOCTRL: `?` is DEL; otherwise the low five bits (upper and lower case agree).
            out.append(0x7F if target == 0x3F else target & 0x1F)
        elif code in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[code].encode()
        else:
            out += b"\\"
            out.append(data[i - 1])
    # Bash strings end at a NUL: $'/\0tmp' is `/`.
    return bytes(out).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


_UTF8_LENGTHS = ((2, 0x800), (3, 0x10000), (4, 0x200000), (5, 0x4000000), (6, 1 << 31))


def _utf8_long(value: int) -> bytes:
    """UTF-8 as bash writes it (``u32toutf8``): surrogates and values past U+10FFFF included,
    in the original up-to-6-byte form; nothing at all from 0x80000000 on."""
    if value < 0x80:
        return bytes([value])
    if value > 0x7FFFFFFF:
        return b""
    length = next(n for n, limit in _UTF8_LENGTHS if value < limit)
    tail = [0x80 | ((value >> (6 * k)) & 0x3F) for k in range(length - 1)][::-1]
    lead = (0xFF << (8 - length)) & 0xFF | (value >> (6 * (length - 1)))
    return bytes([lead, *tail])


_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")


def _brace_expand(word: str, limit: int = 64, budget: int = 1 << 20) -> list[str]:
    """``/{etc,usr}`` -> ``/etc``, ``/usr``; at most ``limit`` words and ``budget`` characters
    of work. What is past either is one unknown word, so an option hidden after the limit
    (``rm -rf {a,a,…,/}``) is never silently dropped. A loop, not recursion: 20,000 groups
    overflowed the stack (red-team)."""
    out: list[str] = []
    pending = [word]
    while pending:
        current = pending.pop()
        match = _BRACE.search(current)
        if match is None:
            out.append(current)
            if len(out) >= limit and pending:
                return [*out, DYN]
            continue
        options = match.group(1).split(",")
        budget -= len(current) * len(options)
        if budget < 0 or len(options) > limit:
            return [*out, DYN]
        head, tail = current[: match.start()], current[match.end() :]
        pending.extend(head + option + tail for option in reversed(options))
    return out


def _within(words: list[str], budget: int) -> list[str]:
    kept: list[str] = []
    for word in words:
        budget -= len(word)
        if budget < 0:
            return [*kept, DYN]
        kept.append(word)
    return kept


def _joined(parts: list[str]) -> str:
    """The parts of one word, joined; unknown when longer than :data:`MAX_VALUE`."""
    if sum(map(len, parts)) > MAX_VALUE:
        return DYN
    word = "".join(parts)
    while DYN + DYN in word:  # `$a$a` of two unknowns is one unknown, not a growing run of them
        word = word.replace(DYN + DYN, DYN)
    return word
