"""The gateway's pure parts: [gateway] settings, header rules, the reply scrubber."""

from __future__ import annotations

import pytest

from interlock.errors import ServerError
from interlock.gateway import forward
from interlock.gateway.settings import Upstream, Velocity, parse

SECRET = b"sk_live_0123456789abcdef"


def _through(chunks: list[bytes], secrets: list[bytes]) -> tuple[list[bytes], bytes]:
    scrubber = forward.Scrubber(secrets)
    out = [scrubber.feed(c) for c in chunks]
    out.append(scrubber.flush())
    return out, b"".join(out)


def test_the_secret_is_struck_wherever_the_chunks_split_it() -> None:
    text = b"header " + SECRET + b" middle " + SECRET + b" end"
    expected = text.replace(SECRET, b"*" * len(SECRET))
    for cut in range(1, len(text)):
        _, joined = _through([text[:cut], text[cut:]], [SECRET])
        assert joined == expected, cut
    # One byte at a time, too.
    _, joined = _through([bytes([b]) for b in text], [SECRET])
    assert joined == expected


def test_bytes_are_held_only_while_they_could_begin_the_secret() -> None:
    out, _ = _through([b"data: 1\n\n", b"data: 2 sk_", b"live_x\n\n"], [SECRET])
    assert out[0] == b"data: 1\n\n"  # nothing held: an event stream is not delayed
    assert out[1] == b"data: 2 "  # "sk_" could begin the secret
    assert out[2] == b"sk_live_x\n\n"  # it did not


def test_no_secret_means_no_change() -> None:
    out, _ = _through([b"abc", b"def"], [])
    assert out == [b"abc", b"def", b""]


def test_secret_forms() -> None:
    assert forward.secret_forms("Bearer " + SECRET.decode()) == [SECRET]
    assert forward.secret_forms(SECRET.decode()) == [SECRET]
    assert forward.secret_forms("Bearer short") == []


def test_request_headers_drop_what_must_not_travel() -> None:
    raw = [
        ("Host", "127.0.0.1:8470"),
        ("Authorization", "Bearer ilk_x"),
        ("X-Interlock-Token", "ilk_x"),
        ("Connection", "keep-alive, X-Private"),
        ("X-Private", "hop"),
        ("TE", "trailers"),
        ("Cookie", "interlock_session=s"),
        ("Accept-Encoding", "gzip"),
        ("Content-Length", "3"),
        ("Project-Access-Token", "an agent's own"),
        ("Accept", "application/json"),
        ("X-Multi", "a"),
        ("X-Multi", "b"),
    ]
    assert forward.request_headers(raw, "project-access-token") == {
        "accept": "application/json",
        "x-multi": "a, b",
    }


def test_settings_parse() -> None:
    settings = parse(
        {
            "velocity": {"attempts": 5, "window": 30},
            "upstreams": {
                "railway": {
                    "url": "https://backboard.railway.app/",
                    "provider": "railway",
                    "credential": "railway-staging",
                },
                "mirror": {"url": "http://10.0.0.5:8080/v2", "provider": "railway"},
                "api": {"url": "https://api.example.com"},
            },
        }
    )
    assert settings.velocity == Velocity(attempts=5, window=30.0)
    railway = settings.upstreams["railway"]
    assert railway == Upstream(
        "railway", "https://backboard.railway.app", "railway", "railway-staging"
    )
    assert railway.analysis_base == "https://backboard.railway.app"
    assert settings.upstreams["mirror"].analysis_base == "https://backboard.railway.app/v2"
    assert settings.upstreams["api"].analysis_base == "https://api.example.com"
    assert settings.upstreams["api"].provider == "generic"


@pytest.mark.parametrize(
    "raw",
    [
        {"upstreams": {"x": {"url": "ftp://host"}}},
        {"upstreams": {"x": {"url": "https://user:pw@host"}}},
        {"upstreams": {"x": {"url": "https://host?key=1"}}},
        {"upstreams": {"x": {"url": "https://host", "provider": "heroku"}}},
        {"upstreams": {"x": {"url": "https://host", "credential": "Not A Name"}}},
        {"upstreams": {"x": {"url": "https://host", "tls": False}}},
        {"upstreams": {"Bad Name": {"url": "https://host"}}},
        {"velocity": {"attempts": 0}},
        {"velocity": {"attempts": 3, "per": 60}},
        {"timeout": 0},
        {"proxy": True},
    ],
)
def test_bad_settings_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ServerError):
        parse(raw)
