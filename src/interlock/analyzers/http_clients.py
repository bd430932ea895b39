"""curl, wget, HTTPie and xh on the command line, read into requests for :mod:`.http`.

The PocketOS deletion was a ``curl`` away (../shared/notes/anchors.md §0). Each client's
options are read the way it reads them: the method (``-X``, ``--method``, HTTPie's and xh's
first word in any case), headers, the body and the URL. A body the hook cannot see (``curl -d
@file``, ``--data-binary @file``, ``-T file``, ``wget --post-file``, HTTPie ``@file`` and
``field=@file``) is ask when the request writes to a known provider or a GraphQL endpoint: what
it carries was not read. ``curl -K file`` takes options, the URL and the method included, from a
file: always ask. ``-d @-`` with a heredoc or herestring is read from that text.

The environment of each request is its target's, found by :mod:`.http` from the URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from interlock.analyzers import SimpleCommand, is_dynamic, show, unknown
from interlock.decisions import Finding, Verdict

__all__ = ["Request", "analyze"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass
class Request:
    method: str = ""
    urls: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    unseen: list[str] = field(default_factory=list)
    """Files the body (or, for ``-K``, the options) come from, which the hook did not read."""
    config: bool = False


def analyze(cmd: SimpleCommand) -> list[Finding]:
    from interlock.analyzers import http

    name = cmd.name
    if name in ("curl", "curlie"):
        request = _curl(cmd.argv[1:], cmd)
    elif name == "wget":
        request = _wget(cmd.argv[1:])
    else:
        request = _httpie(cmd.argv[1:], https=name in ("https", "xhs"))
    findings: list[Finding] = _uploads(cmd)
    if request.config:
        findings.append(
            unknown(
                f"{name} reads its options, URL and body from a config file Interlock did not see",
                rule="http.opaque",
                operation="http.unknown_target",
                environment=cmd.scope.environment,
                evidence=cmd.text,
            )
        )
    for url in request.urls:
        if is_dynamic(url) and request.method not in _READS:
            findings.append(
                unknown(
                    f"sends a {request.method} request to an address only known at run time",
                    rule="http.opaque",
                    operation="http.unknown_target",
                    environment=cmd.scope.environment,
                    evidence=cmd.text,
                )
            )
            continue
        full = url if "://" in url else "https://" + url
        findings.extend(
            http.analyze(request.method, full, request.headers, request.body, cmd.scope)
        )
        if request.unseen and request.method not in _READS and _writes_to_an_api(full):
            findings.append(
                unknown(
                    f"sends a {request.method} body read from {show(request.unseen[0])}, a file "
                    f"Interlock did not see, to {_host(full) or url}",
                    rule="http.body_unseen",
                    operation="http.unknown_body",
                    environment=cmd.scope.environment,
                    evidence=cmd.text,
                )
            )
    return findings


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _writes_to_an_api(url: str) -> bool:
    """A known provider's API or a GraphQL endpoint: where an unseen body can delete."""
    from interlock.analyzers.http import provider_of

    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return True
    if not host:
        return True
    return provider_of(host, port, parts.path or "/") is not None or "graphql" in url.lower()


_UPLOAD_OPTIONS = ("-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "--json",
                   "-F", "--form", "-T", "--upload-file", "--post-file", "--body-file")  # fmt: skip


def _uploads(cmd: SimpleCommand) -> list[Finding]:
    """A credential file sent anywhere is exfiltration: ``curl -F f=@~/.ssh/id_rsa …``."""
    from interlock.paths import is_credential, resolve

    findings: list[Finding] = []
    args = cmd.argv[1:]
    for index, arg in enumerate(args):
        option, eq, attached = arg.partition("=")
        if option not in _UPLOAD_OPTIONS:
            continue
        value = (
            attached
            if eq and option.startswith("--")
            else (args[index + 1] if index + 1 < len(args) else "")
        )
        path = value.split("@", 1)[1] if "@" in value else value
        if option in ("-T", "--upload-file", "--post-file", "--body-file") or "@" in value:
            path = path.split(";", 1)[0]
            if path and is_credential(resolve(path, cmd.scope), cmd.scope):
                findings.append(
                    Finding(
                        operation="secret.exfiltrate",
                        summary=f"uploads the credential file {show(path)} to another host",
                        verdict=Verdict.DENY,
                        rule="http.credential_upload",
                        targets=(show(path),),
                        environment=cmd.scope.environment,
                        reversible=False,
                        evidence=cmd.text,
                    )
                )
    return findings


_CURL_DATA = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
              "--json", "-F", "--form", "--form-string"}  # fmt: skip
_CURL_VALUE = {"-o", "--output", "-u", "--user", "-A", "--user-agent", "-e", "--referer",
               "-b", "--cookie", "-c", "--cookie-jar", "-m", "--max-time", "--connect-timeout",
               "-w", "--write-out", "-x", "--proxy", "--retry", "--cacert",
               "--cert", "--key", "-E", "-r", "--range", "--resolve", "-U", "--proxy-user",
               "--oauth2-bearer", "--aws-sigv4", "-C", "--continue-at", "-y", "-Y", "-z",
               "--limit-rate", "--max-filesize", "--unix-socket", "--interface"}  # fmt: skip


def _curl(args: tuple[str, ...], cmd: SimpleCommand) -> Request:
    request = Request()
    method: str | None = None
    body_parts: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        value = args[index + 1] if index + 1 < len(args) else ""
        if arg in ("-X", "--request"):
            method = value.upper()
            index += 2
        elif arg.startswith("-X") and len(arg) > 2:
            method = arg[2:].upper()
            index += 1
        elif arg in ("-H", "--header"):
            key, _, val = value.partition(":")
            request.headers[key.strip()] = val.strip()
            index += 2
        elif _curl_data_option(arg):
            if arg.startswith("-d") and len(arg) > 2:
                option, data, step = "-d", arg[2:], 1
            elif arg.startswith("--") and "=" in arg:
                option, data = arg.split("=", 1)
                step = 1
            else:
                option, data, step = arg, value, 2
            body_parts.append(_curl_data(option, data, cmd, request))
            if option == "--json":
                request.headers.setdefault("Content-Type", "application/json")
            index += step
        elif arg in ("-T", "--upload-file"):
            method = method or "PUT"
            request.unseen.append(value)
            index += 2
        elif arg in ("-K", "--config"):
            request.config = True
            index += 2
        elif arg in ("-I", "--head"):
            method = method or "HEAD"
            index += 1
        elif arg in ("-G", "--get"):
            method = method or "GET"
            index += 1
        elif arg == "--url":
            request.urls.append(value)
            index += 2
        elif arg in _CURL_VALUE:
            index += 2
        elif arg.startswith("-") and len(arg) > 1:
            index += 1
        else:
            request.urls.append(arg)
            index += 1
    request.body = "&".join(p for p in body_parts if p)
    request.method = method or ("POST" if body_parts else "GET")
    return request


def _curl_data_option(arg: str) -> bool:
    return (
        arg in _CURL_DATA
        or (arg.startswith("--") and arg.split("=", 1)[0] in _CURL_DATA)
        or (arg.startswith("-d") and len(arg) > 2 and not arg.startswith("--"))
    )


def _curl_data(option: str, data: str, cmd: SimpleCommand, request: Request) -> str:
    """The text one data option adds to the body; a file it names is recorded as unseen."""
    if option in ("--data-raw", "--form-string") or not data.startswith("@"):
        if option in ("-F", "--form") and ("=@" in data or "=<" in data):
            request.unseen.append(data.split("=", 1)[1][1:].split(";", 1)[0])
        return data
    source = data[1:]
    if source == "-":
        if cmd.stdin is not None:
            return cmd.stdin
        request.unseen.append("standard input")
        return ""
    request.unseen.append(source)
    return ""


def _wget(args: tuple[str, ...]) -> Request:
    request = Request(method="GET")
    for index, arg in enumerate(args):
        option, eq, value = arg.partition("=")
        if not eq and index + 1 < len(args):
            value = args[index + 1]
        if option == "--method":
            request.method = value.upper()
        elif option in ("--post-data", "--body-data"):
            request.body = value
            request.method = "POST" if request.method == "GET" else request.method
        elif option in ("--post-file", "--body-file"):
            request.unseen.append(value)
            request.method = "POST" if request.method == "GET" else request.method
        elif option == "--header":
            key, _, val = value.partition(":")
            request.headers[key.strip()] = val.strip()
        elif not arg.startswith("-") and (
            index == 0 or "=" in args[index - 1] or not args[index - 1].startswith("--")
        ):
            request.urls.append(arg)
    return request


# HTTPie and xh options that take a value: the value is not the URL or a request item.
_HTTPIE_VALUE = {"-a", "--auth", "-A", "--auth-type", "-o", "--output", "--session",
                 "--session-read-only", "--verify", "--cert", "--cert-key", "--proxy",
                 "--timeout", "--max-redirects", "-p", "--print", "--pretty", "-s", "--style",
                 "--format-options", "--default-scheme", "--ssl", "--ciphers", "--boundary",
                 "--raw", "--resolve", "--interface", "--bearer", "--unix-socket"}  # fmt: skip


def _httpie(args: tuple[str, ...], https: bool) -> Request:
    request = Request(method="GET")
    positionals: list[str] = []
    form = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-f", "--form", "--multipart"):
            form = True
        elif arg == "--raw" and index + 1 < len(args):
            request.body = args[index + 1]
            index += 1
        elif arg in _HTTPIE_VALUE:
            index += 1
        elif not arg.startswith("-") or arg == "-":
            positionals.append(arg)
        index += 1
    if positionals and positionals[0].upper() in _METHODS and len(positionals) > 1:
        request.method = positionals.pop(0).upper()
    elif positionals and positionals[0].isalpha() and positionals[0].isupper():
        request.method = positionals.pop(0)
    url = positionals.pop(0) if positionals else ""
    if url and "://" not in url and not is_dynamic(url):
        url = ("https://" if https else "http://") + url.lstrip(":")
    fields: dict[str, object] = {}
    query: list[tuple[str, str]] = []
    for item in positionals:
        if item.startswith("@"):
            request.unseen.append(item[1:])
        elif ":=@" in item or "=@" in item or "@" in item.split("=", 1)[0]:
            request.unseen.append(item.split("@", 1)[1])
        elif "==" in item:
            key, _, value = item.partition("==")
            query.append((key, value))
        elif ":=" in item:
            key, _, raw = item.partition(":=")
            try:
                fields[key] = json.loads(raw)
            except (ValueError, RecursionError):
                fields[key] = raw
        elif "=" in item:
            key, _, value = item.partition("=")
            fields[key] = value
        elif ":" in item:
            key, _, value = item.partition(":")
            request.headers[key] = value
    if query and url:
        url += ("&" if "?" in url else "?") + urlencode(query)
    if fields and not request.body:
        if form:
            request.body = urlencode({k: str(v) for k, v in fields.items()})
            request.headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            request.body = json.dumps(fields)
            request.headers.setdefault("Content-Type", "application/json")
    if (fields or request.unseen or request.body) and request.method == "GET":
        request.method = "POST"
    request.urls = [url] if url else []
    return request
