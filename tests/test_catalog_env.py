"""Which environment a catalog finding is in (issue 3 item 4): named, read from the machine,
local, or unknown, which the engine treats as production for what cannot be undone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from interlock.actions import ShellAction
from interlock.analyzers import catalog
from interlock.analyzers.catalog_env import PROCESS_VARIABLES, current_context
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.engine import decide
from interlock.errors import ConfigError

PROJECT = "/home/dev/app"
INVENTORY = {
    "staging": {
        "aws_profile": ("stage-acct",),
        "kube_context": ("stg-cluster",),
        "kube_namespace": ("team-a-stg",),
        "gcp_project": ("acme-stg-*",),
        "railway_environment": ("9f0c-env",),
        "resource": ("shop-preview",),
        "host": ("build.stg.internal",),
    },
    "development": {"kube_context": ("my-laptop",)},
}
POLICY = Policy(project_root=PROJECT, home="/home/dev", inventory=INVENTORY)


def verdict(command: str, policy: Policy = POLICY, env: str | None = None) -> Verdict:
    return decide(ShellAction(command=command, cwd=PROJECT, env=env), policy).verdict


def environments(command: str, policy: Policy = POLICY) -> set[str | None]:
    return {
        f.environment for f in decide(ShellAction(command=command, cwd=PROJECT), policy).findings
    }


# (named in the inventory: ask, nothing named: deny) for each kind of identifier.
PER_KIND = [
    ("aws_profile", "aws --profile stage-acct s3 rb s3://b --force", "aws s3 rb s3://b --force"),
    ("aws_profile var", "AWS_PROFILE=stage-acct aws ec2 delete-volume --volume-id vol-1",
     "aws ec2 delete-volume --volume-id vol-1"),
    ("kube_context", "kubectl --context stg-cluster delete namespace payments",
     "kubectl delete namespace payments"),
    ("kube_context (helm)", "helm uninstall api --kube-context stg-cluster", "helm uninstall api"),
    ("kube_namespace", "kubectl delete deployment api -n team-a-stg",
     "kubectl delete deployment api -n payments"),
    ("gcp_project", "gcloud compute instances delete web-1 --project acme-stg-42",
     "gcloud compute instances delete web-1"),
    ("railway_environment", "railway volume delete --volume vol-7 -e 9f0c-env",
     "railway volume delete --volume vol-7"),
    ("resource", "fly apps destroy shop-preview", "fly apps destroy shop-web"),
    ("host", "docker -H tcp://build.stg.internal:2376 volume rm pgdata",
     "docker -H tcp://build.acme.internal:2376 volume rm pgdata"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "named", "unnamed"), PER_KIND)
def test_a_listed_target_is_its_environment_and_an_unplaced_one_is_denied(
    kind: str, named: str, unnamed: str
) -> None:
    assert verdict(named) is Verdict.ASK, kind
    assert environments(named) == {"staging"}, kind
    assert verdict(unnamed) is Verdict.DENY, kind
    assert environments(unnamed) == {"unknown"}, kind


def test_the_agents_own_environment_does_not_place_a_remote_target() -> None:
    # INTERLOCK_ENV=staging says what the agent works on, not which account its token reaches.
    assert verdict("aws s3 rb s3://b --force", env="staging") is Verdict.DENY
    assert verdict("rake db:drop", env="staging") is Verdict.ASK  # a local tool: it does


@pytest.mark.parametrize(
    "command",
    [
        "awslocal s3 rb s3://b --force",
        "aws --endpoint-url http://localhost:4566 s3 rb s3://b --force",
        "aws --endpoint-url=http://127.0.0.1:4566 dynamodb delete-table --table-name t",
        "AWS_ENDPOINT_URL=http://localhost:4566 aws s3 rb s3://b --force",
        "kubectl --context kind-dev delete namespace payments",
        "kubectl --context minikube delete pvc data-0",
        "kubectl --context docker-desktop delete namespace payments",
        "kubectl --context k3d-mycluster delete namespace payments",
        "kubectl --context rancher-desktop delete namespace payments",
        "kubectl --context colima delete namespace payments",
        "kubectl --context my-laptop delete namespace payments",  # listed under development
        "microk8s.kubectl delete namespace payments",
        "kubectl -s https://127.0.0.1:6443 delete namespace payments",
        "helm uninstall api --kube-context kind-dev",
        "docker volume rm pgdata",
        "docker -H unix:///var/run/docker.sock volume rm pgdata",
        "DOCKER_HOST=tcp://localhost:2375 docker volume rm pgdata",
        "docker --context default volume rm pgdata",
        "docker compose --context desktop-linux down -v",
        "supabase db reset",
        "supabase db reset --db-url postgresql://postgres@127.0.0.1:54322/postgres",
        "kubectl config delete-context old-admin",  # edits the local kubeconfig
    ],
)
def test_local_endpoints_keep_the_actions_environment(command: str) -> None:
    assert verdict(command) is Verdict.ASK
    assert "unknown" not in environments(command)


@pytest.mark.parametrize(
    "command",
    [
        "aws --endpoint-url https://s3.eu-west-1.amazonaws.com s3 rb s3://b --force",
        "aws --endpoint-url http://$HOST:4566 s3 rb s3://b --force",  # only known at run time
        "kubectl --context $CTX delete namespace payments",
        "kubectl --context gke_acme_europe-west1_main delete namespace payments",
        "kubectl -s https://10.0.0.5:6443 delete namespace payments",
        "DOCKER_HOST=ssh://me@build-box docker volume rm pgdata",
        "docker --context build-box volume rm pgdata",
        "supabase db reset --linked",
        "supabase db reset --db-url postgresql://postgres@db.acme.co:5432/postgres",
        "gh repo delete acme/shop --yes",
    ],
)
def test_remote_endpoints_nobody_places_are_unknown(command: str) -> None:
    assert verdict(command) is Verdict.DENY
    assert "unknown" in environments(command) or "production" in environments(command)


def test_production_names_still_say_production() -> None:
    assert environments("kubectl --context prod-eu delete namespace payments") == {"production"}
    assert environments("aws s3 rb s3://shop-prod-assets --force") == {"production"}
    # A local context does not hide a namespace that says production.
    assert environments("kubectl --context kind-dev -n production delete deploy api") == {
        "production"
    }


def test_reversible_and_read_only_commands_are_not_escalated() -> None:
    assert verdict("railway down") is Verdict.ASK  # reversible: redeploy
    assert verdict("gh release delete v1.2.0 --yes") is Verdict.ASK  # the working repository
    for command in ("kubectl get pods", "aws s3 ls", "helm list -A", "docker volume ls"):
        assert verdict(command) is Verdict.ALLOW, command


# ------------------------------------------------------------------- the agent's environment


def test_aws_profile_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    command = "aws s3 rb s3://b --force"
    assert verdict(command) is Verdict.DENY
    monkeypatch.setenv("AWS_PROFILE", "stage-acct")
    assert verdict(command) is Verdict.ASK
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "stage-acct")
    assert verdict(command) is Verdict.ASK


def test_the_commands_own_profile_wins_over_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod-main")
    assert verdict("aws s3 rb s3://b --force") is Verdict.DENY
    assert environments("aws s3 rb s3://b --force") == {"production"}
    assert environments("aws --profile stage-acct s3 rb s3://b --force") == {"staging"}


def test_this_machines_settings_say_nothing_about_another_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "config", "kind-dev")))
    monkeypatch.setenv("AWS_PROFILE", "stage-acct")
    assert verdict("kubectl delete namespace payments") is Verdict.ASK
    assert verdict("ssh build-box 'kubectl delete namespace payments'") is Verdict.DENY
    assert verdict("ssh build-box 'aws s3 rb s3://b --force'") is Verdict.DENY
    # What the command itself names still counts there.
    assert (
        verdict("ssh build-box 'kubectl --context stg-cluster delete ns payments'") is Verdict.ASK
    )


def test_docker_host_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://me@build-box")
    assert verdict("docker volume rm pgdata") is Verdict.DENY
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert verdict("docker volume rm pgdata") is Verdict.ASK


def test_gcloud_project_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSDK_CORE_PROJECT", "acme-stg-7")
    assert verdict("gcloud compute instances delete web-1") is Verdict.ASK


def test_aws_vault_hands_its_profile_to_the_command_it_runs() -> None:
    assert verdict("aws-vault exec stage-acct -- aws s3 rb s3://b --force") is Verdict.ASK
    assert verdict("aws-vault exec other-acct -- aws s3 rb s3://b --force") is Verdict.DENY


def _kubeconfig(path: Path, context: str) -> Path:
    path.write_text(
        "apiVersion: v1\nclusters: []\ncontexts:\n- context:\n    cluster: x\n  name: other\n"
        f"current-context: {context}\nkind: Config\n"
    )
    return path


def test_kube_current_context_from_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _kubeconfig(tmp_path / "config", "stg-cluster")
    monkeypatch.setenv("KUBECONFIG", str(config))
    command = "kubectl delete namespace payments"
    assert verdict(command) is Verdict.ASK
    assert environments(command) == {"staging"}
    # An edited file is read again (the cache is keyed on mtime and size).
    _kubeconfig(config, "kind-scratch")
    os.utime(config, ns=(1_000_000_000, 1_000_000_000))
    assert verdict(command) is Verdict.ASK and "unknown" not in environments(command)
    _kubeconfig(config, "gke_acme_main")
    os.utime(config, ns=(2_000_000_000, 2_000_000_000))
    assert verdict(command) is Verdict.DENY
    # The command's own context wins over the current one.
    assert verdict("kubectl --context stg-cluster delete namespace payments") is Verdict.ASK


def test_kube_current_context_from_the_policys_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG")
    policy = Policy(project_root=PROJECT, home=str(tmp_path), inventory=INVENTORY)
    assert verdict("kubectl delete namespace payments", policy) is Verdict.DENY  # no file
    (tmp_path / ".kube").mkdir()
    _kubeconfig(tmp_path / ".kube" / "config", "stg-cluster")
    assert verdict("kubectl delete namespace payments", policy) is Verdict.ASK


def test_kubeconfig_named_on_the_command(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path / "stg.yaml", '"stg-cluster"  # quoted')
    assert verdict(f"kubectl --kubeconfig {config} delete namespace payments") is Verdict.ASK
    assert verdict(f"KUBECONFIG={config} helm uninstall api") is Verdict.ASK
    missing = tmp_path / "missing.yaml"
    assert verdict(f"kubectl --kubeconfig {missing} delete namespace payments") is Verdict.DENY


def test_current_context_line_scan(tmp_path: Path) -> None:
    first = tmp_path / "a"
    first.write_text("apiVersion: v1\ncurrent-context: ''\n")
    second = tmp_path / "b"
    second.write_text('{\n  "kind": "Config",\n  "current-context": "kind-json",\n}\n')
    nested = tmp_path / "c"
    nested.write_text("contexts:\n- name: x\n  current-context: not-top-level\n")
    assert current_context([str(first), str(second)]) == "kind-json"  # first that sets one
    assert current_context([str(nested)]) is None
    assert current_context([str(tmp_path / "missing")]) is None


# ------------------------------------------------------------------------------ the format


def test_every_variable_read_from_the_process_is_cleared_by_the_test_suite() -> None:
    for tool in catalog.load().tools.values():
        read = list(tool.endpoint_vars) + (list(tool.env_vars) if tool.remote else [])
        missing = set(read) - PROCESS_VARIABLES
        assert not missing, f"{tool.id} reads {missing} from the command only"


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ('names = ["x"]\nremote = "yes"', "remote must be true or false"),
        ('names = ["x"]\nenv_options = ["--p"]', "must also be in value_options"),
        ('names = ["x"]\nendpoint_options = ["--url"]', "must also be in value_options"),
        (
            'names = ["x"]\nvalue_options = ["--p"]\nenv_options = ["--p"]\n'
            'env_kinds = { "--p" = "galaxy" }',
            "env_kinds.--p must be one of",
        ),
        ('names = ["x"]\nenv_kinds = { "--q" = "host" }', "not an env or endpoint option"),
    ],
)
def test_bad_environment_keys_are_config_errors(tool: str, message: str) -> None:
    import tomllib

    text = f"[tools.x]\n{tool}\n"
    with pytest.raises(ConfigError, match=message):
        catalog.parse_catalog([("t.toml", tomllib.loads(text))])


def test_rule_remote_must_be_a_boolean() -> None:
    import tomllib

    text = (
        '[tools.x]\nnames = ["x"]\n[[rules]]\nid = "r"\ntool = "x"\noperation = "o"\n'
        'summary = "s"\nverdict = "ask"\nremote = 1\nmatch = ["x"]\nno_match = ["y"]\n'
    )
    with pytest.raises(ConfigError, match="remote must be true or false"):
        catalog.parse_catalog([("t.toml", tomllib.loads(text))])
