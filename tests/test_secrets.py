"""interlock.secrets: the Secret type and mask() over the shapes issue #2 item 7 lists."""

from __future__ import annotations

import pickle

import pytest

from interlock.secrets import MASK, Secret, mask, mask_json

# (input, expected output, the secret that must be gone)
MASKED = [
    # PocketOS, 25 April 2026: the Railway token the agent found and used.
    (
        "RAILWAY_TOKEN=3f9a1c2e-77aa-4d1e-9b0c-1e2f3a4b5c6d railway volume delete vol-7",
        "RAILWAY_TOKEN=**** railway volume delete vol-7",
        "3f9a1c2e-77aa",
    ),
    (
        'curl -H "Authorization: Bearer abcdefgh12345678" https://api.example.com',
        'curl -H "Authorization: Bearer ****" https://api.example.com',
        "abcdefgh12345678",
    ),
    (
        "curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://x",
        "curl -H 'Authorization: Basic ****' https://x",
        "dXNlcjpwYXNzd29yZA",
    ),
    ("Authorization: Bearer zzzzyyyyxxxx1234", "Authorization: Bearer ****", "zzzzyyyy"),
    (
        'curl -H "X-Api-Key: k3y-v4lue" https://x',
        'curl -H "X-Api-Key: ****" https://x',
        "k3y-v4lue",
    ),
    ("curl -u admin:hunter2 https://x", "curl -u admin:**** https://x", "hunter2"),
    ("curl --user=admin:hunter2 https://x", "curl --user=admin:**** https://x", "hunter2"),
    (
        "psql postgres://app:S3cr3t@db.prod:5432/app",
        "psql postgres://app:****@db.prod:5432/app",
        "S3cr3t",
    ),
    (
        "git clone https://bob:p4ss@github.com/x/y",
        "git clone https://bob:****@github.com/x/y",
        "p4ss",
    ),
    (
        'export AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
        'export AWS_SECRET_ACCESS_KEY="****"',
        "wJalrXUtnFEMI",
    ),
    ("PGPASSWORD=hunter2 psql -h db", "PGPASSWORD=**** psql -h db", "hunter2"),
    ("MYSQL_PWD=hunter2 mysql", "MYSQL_PWD=**** mysql", "hunter2"),
    ("mysql -u root -pS3cret app", "mysql -u root -p**** app", "S3cret"),
    ("mysql -u root --password=S3cret app", "mysql -u root --password=**** app", "S3cret"),
    ("tool --api-key abc123 --verbose", "tool --api-key **** --verbose", "abc123"),
    ("tool --token=abc123", "tool --token=****", "abc123"),
    ("deploy --client-secret 'a b c'", "deploy --client-secret '****'", "a b c"),
    (
        "GET https://api.x/v1?access_token=abc123&page=2",
        "GET https://api.x/v1?access_token=****&page=2",
        "abc123",
    ),
    ("echo AKIAIOSFODNN7EXAMPLE", "echo AKIA****", "IOSFODNN7"),
    ("echo ASIAIOSFODNN7EXAMPLE", "echo ASIA****", "IOSFODNN7"),
    ("x ghp_abcdefghijklmnopqrstuvwxyz0123456789", "x ghp_****", "abcdefghijklmnop"),
    ("x gho_abcdefghijklmnopqrstuvwxyz0123456789", "x gho_****", "abcdefghijklmnop"),
    ("x ghs_abcdefghijklmnopqrstuvwxyz0123456789", "x ghs_****", "abcdefghijklmnop"),
    ("x ghu_abcdefghijklmnopqrstuvwxyz0123456789", "x ghu_****", "abcdefghijklmnop"),
    ("x github_pat_11ABCDEFG0123456789_abcdefghij", "x github_pat_****", "11ABCDEFG"),
    ("x glpat-abcdefghij0123456789", "x glpat-****", "abcdefghij"),
    ("x xoxb-123456789012-abcdefghij", "x xoxb-****", "123456789012"),
    ("x xoxp-123456789012-abcdefghij", "x xoxp-****", "123456789012"),
    ("x sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "x sk-ant-****", "abcdefghijklmnop"),
    ("x sk-proj-abcdefghijklmnopqrstuvwxyz", "x sk-proj-****", "abcdefghijklmnop"),
    ("x sk-abcdefghijklmnopqrstuvwxyz0123", "x sk-****", "abcdefghijklmnop"),
    ("x sk_live_abcdefghij0123456789", "x sk_live_****", "abcdefghij"),
    ("x rk_live_abcdefghij0123456789", "x rk_live_****", "abcdefghij"),
    ("x AIzaSyA-abcdefghijklmnopqrstuvwxyz012345", "x AIza****", "SyA-abcdef"),
    (
        "x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
        "x eyJ****",
        "dozjgNryP4J3",
    ),
    ("x ilk_live_abcdefghijkl0123", "x ilk_****", "abcdefghijkl"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----****-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA",
    ),
    (
        "cat <<EOF\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk",
        "cat <<EOF\n-----BEGIN OPENSSH PRIVATE KEY-----****-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXk",
    ),
    ('{"password": "hunter2"}', '{"password": "****"}', "hunter2"),
    ('{"token":"abc","n":1}', '{"token":"****","n":1}', "abc"),
    ('{"secret": "s\\"q"}', '{"secret": "****"}', "s\\"),
    ('{"api_key": 12345}', '{"api_key": ****}', "12345"),
    ("ALTER USER app WITH PASSWORD 'hunter2'", "ALTER USER app WITH PASSWORD '****'", "hunter2"),
    (
        "CREATE USER 'a'@'%' IDENTIFIED BY 'hunter2'",
        "CREATE USER 'a'@'%' IDENTIFIED BY '****'",
        "hunter2",
    ),
]

UNCHANGED = [
    "ls",
    "ls -la /tmp",
    'git commit -m "fix token refresh"',
    'git commit -m "authorization: handle expiry"',
    "grep -r PASSWORD .",
    "grep -rn RAILWAY_TOKEN src/",
    "git log --author=bob",
    "cp -pr a b",
    "docker run -u 1000:1000 -p 8080:80 img",
    "mkdir -p build/out",
    "TOKENIZERS_PARALLELISM=false python train.py",
    "llm --max-tokens 100 prompt",
    "docker login --password-stdin -u bob",
    "curl --anyauth https://example.com/a?b=c",
    'curl -H "Authorization: Bearer $RAILWAY_TOKEN" https://backboard.railway.app/graphql/v2',
    "echo $GITHUB_TOKEN",
    "POSTGRES_PASSWORD_FILE=/run/secrets/pg docker compose up",
    '{"token_type": "bearer", "max_tokens": 100, "author": "ann"}',
    "DELETE FROM orders WHERE id = 42",
    "https://example.com:8443/path@v2",
    "terraform destroy -target=aws_db_instance.main",
]


@pytest.mark.parametrize(("text", "expected", "secret"), MASKED)
def test_mask_replaces_the_value_and_keeps_the_name(text: str, expected: str, secret: str) -> None:
    out = mask(text)
    assert out == expected
    assert secret not in out


@pytest.mark.parametrize("text", UNCHANGED)
def test_mask_leaves_ordinary_text_alone(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(("text", "expected", "secret"), MASKED)
def test_mask_is_idempotent(text: str, expected: str, secret: str) -> None:
    assert mask(mask(text)) == mask(text)


def test_mask_json_masks_values_under_secret_keys_and_inside_strings() -> None:
    value = {
        "headers": {"authorization": "Bearer abcdefgh12345678", "accept": "*/*"},
        "password": "hunter2",
        "retries": 3,
        "auth": True,
        "args": ["--token=abc123", "plain"],
        "key": Secret("v"),
    }
    assert mask_json(value) == {
        "headers": {"authorization": MASK, "accept": "*/*"},
        "password": MASK,
        "retries": 3,
        "auth": True,
        "args": ["--token=****", "plain"],
        "key": MASK,
    }


def test_secret_hides_its_value() -> None:
    s = Secret("hunter2")
    assert repr(s) == "Secret('********')"
    assert str(s) == "Secret('********')"
    assert f"{s}" == "Secret('********')"
    assert "hunter2" not in repr([s, {"k": s}])
    assert s.reveal() == "hunter2"
    assert s == Secret("hunter2") and s != Secret("other") and s != "hunter2"
    assert len({s, Secret("hunter2")}) == 1


def test_secret_refuses_to_be_pickled_or_wrap_non_strings() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret("hunter2"))
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]
