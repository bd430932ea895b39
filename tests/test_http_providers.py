"""Every provider catalog entry (catalogs/providers/*.toml) has a request here that matches it,
with its decision when the target's environment is unknown and when it is staging. A new entry
without a case fails :func:`test_every_entry_has_a_case`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlock.actions import HttpAction
from interlock.analyzers.http_providers import load, providers
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.engine import decide
from interlock.environments import KINDS
from interlock.errors import ConfigError

RAILWAY = "https://backboard.railway.app/graphql/v2"
GITHUB_GQL = "https://api.github.com/graphql"
FLY_GQL = "https://api.fly.io/graphql"
K8S = "https://10.0.0.1:6443"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

Request = tuple[str, str, dict[str, str], str]


def gql(url: str, document: str, **variables: object) -> Request:
    body = {"query": document, **({"variables": variables} if variables else {})}
    return ("POST", url, {"Content-Type": "application/json"}, json.dumps(body))


def aws(host: str, query: str) -> Request:
    return ("POST", f"https://{host}/", FORM, query + "&Version=2014-10-31")


def target(action: str, body: dict[str, object], host: str = "dynamodb.us-east-1") -> Request:
    headers = {"X-Amz-Target": f"DynamoDB_20120810.{action}"}
    return ("POST", f"https://{host}.amazonaws.com/", headers, json.dumps(body))


def rest(method: str, url: str, body: object = None) -> Request:
    return (method, url, {}, json.dumps(body) if body is not None else "")


D, A = Verdict.DENY, Verdict.ASK
# id -> (request, decision with no inventory (unknown: treated as production), decision in staging)
CASES: dict[str, tuple[Request, Verdict, Verdict]] = {
    # Railway
    "railway.volume_delete": (gql(RAILWAY, 'mutation { volumeDelete(volumeId: "v1") }'), D, A),
    "railway.volume_backup_delete": (
        gql(RAILWAY, 'mutation { volumeInstanceBackupDelete(volumeInstanceBackupId: "b", volumeInstanceId: "vi") }'),
        D, A,
    ),
    "railway.volume_backup_restore": (
        gql(RAILWAY, 'mutation { volumeInstanceBackupRestore(volumeInstanceBackupId: "b", volumeInstanceId: "vi") }'),
        D, A,
    ),
    "railway.service_delete": (gql(RAILWAY, 'mutation { serviceDelete(id: "s1") }'), D, A),
    "railway.environment_delete": (gql(RAILWAY, 'mutation { environmentDelete(id: "e1") }'), D, A),
    "railway.project_delete": (gql(RAILWAY, 'mutation { projectDelete(id: "p1") }'), D, A),
    "railway.project_schedule_delete": (gql(RAILWAY, 'mutation { projectScheduleDelete(id: "p1") }'), A, A),
    "railway.project_schedule_delete_force": (
        gql(RAILWAY, 'mutation { projectScheduleDeleteForce(id: "p1") }'), D, D,
    ),
    "railway.variable_delete": (
        gql(RAILWAY, 'mutation { variableDelete(input: {projectId: "p", environmentId: "e", name: "DATABASE_URL"}) }'),
        D, A,
    ),
    "railway.variable_collection_replace": (
        gql(RAILWAY, 'mutation($i: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $i) }',
            i={"projectId": "p", "environmentId": "e", "serviceId": "s", "replace": True, "variables": {"A": "1"}}),
        D, A,
    ),
    "railway.deployment_remove": (gql(RAILWAY, 'mutation { deploymentRemove(id: "d1") }'), D, A),
    "railway.plugin_delete": (gql(RAILWAY, 'mutation { pluginDelete(id: "pg", environmentId: "e") }'), D, A),
    "railway.custom_domain_delete": (gql(RAILWAY, 'mutation { customDomainDelete(id: "cd") }'), D, A),
    "railway.tcp_proxy_delete": (gql(RAILWAY, 'mutation { tcpProxyDelete(id: "tp") }'), D, A),
    # AWS
    "aws.rds.delete_db_instance": (
        aws("rds.us-east-1.amazonaws.com", "Action=DeleteDBInstance&DBInstanceIdentifier=db1&SkipFinalSnapshot=true"),
        D, D,
    ),
    "aws.rds.delete_db_cluster": (
        aws("rds.us-east-1.amazonaws.com", "Action=DeleteDBCluster&DBClusterIdentifier=c1&FinalDBSnapshotIdentifier=last"),
        D, A,
    ),
    "aws.rds.delete_db_snapshot": (
        aws("rds.us-east-1.amazonaws.com", "Action=DeleteDBSnapshot&DBSnapshotIdentifier=s1"), D, A,
    ),
    "aws.rds.delete_db_cluster_snapshot": (
        aws("rds.us-east-1.amazonaws.com", "Action=DeleteDBClusterSnapshot&DBClusterSnapshotIdentifier=s1"), D, A,
    ),
    "aws.rds.delete_automated_backup": (
        aws("rds.us-east-1.amazonaws.com", "Action=DeleteDBInstanceAutomatedBackup&DbiResourceId=db-ABC"), D, A,
    ),
    "aws.rds.disable_deletion_protection": (
        aws("rds.us-east-1.amazonaws.com", "Action=ModifyDBInstance&DBInstanceIdentifier=db1&DeletionProtection=false"),
        D, A,
    ),
    "aws.rds.disable_backups": (
        aws("rds.us-east-1.amazonaws.com", "Action=ModifyDBInstance&DBInstanceIdentifier=db1&BackupRetentionPeriod=0"),
        D, A,
    ),
    "aws.rds.disable_cluster_deletion_protection": (
        aws("rds.us-east-1.amazonaws.com", "Action=ModifyDBCluster&DBClusterIdentifier=c1&DeletionProtection=false"),
        D, A,
    ),
    "aws.ec2.terminate_instances": (
        ("GET", "https://ec2.amazonaws.com/?Action=TerminateInstances&InstanceId.1=i-1&InstanceId.2=i-2", {}, ""),
        D, A,
    ),
    "aws.ec2.delete_volume": (aws("ec2.us-east-1.amazonaws.com", "Action=DeleteVolume&VolumeId=vol-1"), D, A),
    "aws.ec2.delete_snapshot": (aws("ec2.us-east-1.amazonaws.com", "Action=DeleteSnapshot&SnapshotId=snap-1"), D, A),
    "aws.dynamodb.delete_table": (target("DeleteTable", {"TableName": "orders"}), D, A),
    "aws.dynamodb.delete_backup": (
        target("DeleteBackup", {"BackupArn": "arn:aws:dynamodb:us-east-1:111122223333:table/t/backup/b"}), D, A,
    ),
    "aws.kms.schedule_key_deletion": (
        ("POST", "https://kms.us-east-1.amazonaws.com/", {"X-Amz-Target": "TrentService.ScheduleKeyDeletion"},
         '{"KeyId": "k1", "PendingWindowInDays": 7}'),
        A, A,
    ),
    "aws.cloudformation.delete_stack": (
        aws("cloudformation.us-east-1.amazonaws.com", "Action=DeleteStack&StackName=app"), D, A,
    ),
    "aws.cloudtrail.stop_logging": (
        ("POST", "https://cloudtrail.us-east-1.amazonaws.com/",
         {"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StopLogging"}, '{"Name": "main"}'),
        D, A,
    ),
    "aws.cloudtrail.delete_trail": (
        ("POST", "https://cloudtrail.us-east-1.amazonaws.com/",
         {"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DeleteTrail"}, '{"Name": "main"}'),
        D, A,
    ),
    "aws.elasticache.delete_cache_cluster": (
        aws("elasticache.us-east-1.amazonaws.com", "Action=DeleteCacheCluster&CacheClusterId=redis1"), D, A,
    ),
    "aws.s3.delete_bucket": (rest("DELETE", "https://s3.us-east-1.amazonaws.com/assets"), D, A),
    "aws.s3.delete_bucket_virtual_host": (rest("DELETE", "https://assets.s3.amazonaws.com/"), D, A),
    "aws.s3.delete_objects": (
        ("POST", "https://s3.amazonaws.com/assets?delete", {}, "<Delete><Object><Key>a</Key></Object></Delete>"),
        D, A,
    ),
    "aws.s3.delete_objects_virtual_host": (
        ("POST", "https://assets.s3.eu-west-1.amazonaws.com/?delete", {}, "<Delete/>"), D, A,
    ),
    "aws.s3.delete_object": (rest("DELETE", "https://s3.amazonaws.com/assets/img/a.png"), D, A),
    "aws.s3.delete_object_virtual_host": (rest("DELETE", "https://assets.s3.amazonaws.com/img/a.png"), D, A),
    "aws.s3.put_bucket_lifecycle": (
        ("PUT", "https://assets.s3.amazonaws.com/?lifecycle", {}, "<LifecycleConfiguration/>"), D, A,
    ),
    "aws.s3.put_bucket_lifecycle_path_style": (
        ("PUT", "https://s3.amazonaws.com/assets?lifecycle", {}, "<LifecycleConfiguration/>"), D, A,
    ),
    "aws.backup.delete_backup_vault": (rest("DELETE", "https://backup.us-east-1.amazonaws.com/backup-vaults/main"), D, A),
    "aws.backup.delete_recovery_point": (
        rest("DELETE", "https://backup.us-east-1.amazonaws.com/backup-vaults/main/recovery-points/arn:aws:backup:us-east-1:111122223333:recovery-point:rp1"),
        D, A,
    ),
    "aws.backup.delete_vault_lock": (
        rest("DELETE", "https://backup.us-east-1.amazonaws.com/backup-vaults/main/vault-lock"), D, A,
    ),
    "aws.efs.delete_file_system": (
        rest("DELETE", "https://elasticfilesystem.us-east-1.amazonaws.com/2015-02-01/file-systems/fs-1"), D, A,
    ),
    "aws.route53.delete_hosted_zone": (
        rest("DELETE", "https://route53.amazonaws.com/2013-04-01/hostedzone/Z123"), D, A,
    ),
    "aws.eks.delete_cluster": (rest("DELETE", "https://eks.us-east-1.amazonaws.com/clusters/main"), D, A),
    # GitHub
    "github.delete_repository": (rest("DELETE", "https://api.github.com/repos/acme/app"), D, A),
    "github.delete_branch_protection": (
        rest("DELETE", "https://api.github.com/repos/acme/app/branches/main/protection"), D, A,
    ),
    "github.delete_branch_protection_setting": (
        rest("DELETE", "https://api.github.com/repos/acme/app/branches/main/protection/enforce_admins"), D, A,
    ),
    "github.delete_ruleset": (rest("DELETE", "https://api.github.com/repos/acme/app/rulesets/42"), D, A),
    "github.force_update_ref": (
        rest("PATCH", "https://api.github.com/repos/acme/app/git/refs/heads/main", {"sha": "abc", "force": True}),
        D, A,
    ),
    "github.delete_ref": (rest("DELETE", "https://api.github.com/repos/acme/app/git/refs/heads/feature/x"), D, A),
    "github.delete_org": (rest("DELETE", "https://api.github.com/orgs/acme"), D, A),
    "github.delete_secret": (rest("DELETE", "https://api.github.com/repos/acme/app/actions/secrets/DEPLOY_KEY"), D, A),
    "github.delete_environment": (rest("DELETE", "https://api.github.com/repos/acme/app/environments/staging"), D, A),
    "github.delete_release": (rest("DELETE", "https://api.github.com/repos/acme/app/releases/1"), D, A),
    "github.graphql.delete_repository": (
        gql(GITHUB_GQL, 'mutation { deleteRepository(input: {repositoryId: "R_1"}) { clientMutationId } }'), D, A,
    ),
    "github.graphql.delete_ref": (gql(GITHUB_GQL, 'mutation { deleteRef(input: {refId: "REF_1"}) { clientMutationId } }'), D, A),
    "github.graphql.force_update_ref": (
        gql(GITHUB_GQL, 'mutation { updateRef(input: {refId: "REF_1", oid: "abc", force: true}) { clientMutationId } }'),
        D, A,
    ),
    "github.graphql.delete_branch_protection_rule": (
        gql(GITHUB_GQL, 'mutation { deleteBranchProtectionRule(input: {branchProtectionRuleId: "BPR_1"}) { clientMutationId } }'),
        D, A,
    ),
    "github.graphql.delete_ruleset": (
        gql(GITHUB_GQL, 'mutation { deleteRepositoryRuleset(input: {repositoryRulesetId: "RRS_1"}) { clientMutationId } }'),
        D, A,
    ),
    "github.graphql.delete_issue": (
        gql(GITHUB_GQL, 'mutation { deleteIssue(input: {issueId: "I_1"}) { clientMutationId } }'), D, A,
    ),
    "github.graphql.delete_project": (
        gql(GITHUB_GQL, 'mutation { deleteProjectV2(input: {projectId: "PVT_1"}) { clientMutationId } }'), D, A,
    ),
    # Kubernetes
    "kubernetes.delete_all_namespaces": (rest("DELETE", f"{K8S}/api/v1/namespaces"), D, D),
    "kubernetes.delete_namespace": (rest("DELETE", f"{K8S}/api/v1/namespaces/shop"), D, A),
    "kubernetes.delete_pvc": (rest("DELETE", f"{K8S}/api/v1/namespaces/shop/persistentvolumeclaims/data-pg-0"), D, A),
    "kubernetes.delete_pvc_collection": (rest("DELETE", f"{K8S}/api/v1/namespaces/shop/persistentvolumeclaims"), D, A),
    "kubernetes.delete_pv": (rest("DELETE", f"{K8S}/api/v1/persistentvolumes/pv-1"), D, A),
    "kubernetes.delete_pv_collection": (rest("DELETE", f"{K8S}/api/v1/persistentvolumes"), D, A),
    "kubernetes.delete_secret": (rest("DELETE", f"{K8S}/api/v1/namespaces/shop/secrets/db-creds"), D, A),
    "kubernetes.delete_crd": (
        rest("DELETE", f"{K8S}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.postgresql.cnpg.io"), D, A,
    ),
    "kubernetes.delete_core_collection": (rest("DELETE", f"{K8S}/api/v1/namespaces/shop/configmaps"), D, A),
    "kubernetes.delete_core_object": (rest("DELETE", f"{K8S}/api/v1/namespaces/shop/services/web"), D, A),
    "kubernetes.delete_group_collection": (rest("DELETE", f"{K8S}/apis/apps/v1/namespaces/shop/deployments"), D, A),
    "kubernetes.delete_group_object": (rest("DELETE", f"{K8S}/apis/apps/v1/namespaces/shop/statefulsets/pg"), D, A),
    # Neon, Supabase, PlanetScale, Vercel, Fly, Heroku, DigitalOcean, Cloudflare
    "neon.delete_project": (rest("DELETE", "https://console.neon.tech/api/v2/projects/steep-forest-1"), D, A),
    "neon.delete_branch": (rest("DELETE", "https://console.neon.tech/api/v2/projects/p1/branches/br-1"), D, A),
    "neon.delete_database": (
        rest("DELETE", "https://console.neon.tech/api/v2/projects/p1/branches/br-1/databases/shop"), D, A,
    ),
    "neon.restore_branch": (
        rest("POST", "https://console.neon.tech/api/v2/projects/p1/branches/br-1/restore", {"source_branch_id": "br-0"}),
        D, A,
    ),
    "neon.serverless_sql": (
        rest("POST", "https://ep-cool-1.us-east-2.aws.neon.tech/sql", {"query": "DROP TABLE users", "params": []}),
        D, A,
    ),
    "supabase.delete_project": (rest("DELETE", "https://api.supabase.com/v1/projects/abcdefgh"), D, A),
    "supabase.delete_branch": (rest("DELETE", "https://api.supabase.com/v1/branches/br1"), D, A),
    "supabase.run_sql": (
        rest("POST", "https://api.supabase.com/v1/projects/abcdefgh/database/query", {"query": "TRUNCATE orders"}),
        D, A,
    ),
    "planetscale.delete_database": (rest("DELETE", "https://api.planetscale.com/v1/organizations/acme/databases/shop"), D, A),
    "planetscale.delete_branch": (
        rest("DELETE", "https://api.planetscale.com/v1/organizations/acme/databases/shop/branches/dev"), D, A,
    ),
    "planetscale.delete_backup": (
        rest("DELETE", "https://api.planetscale.com/v1/organizations/acme/databases/shop/branches/main/backups/b1"), D, A,
    ),
    "vercel.delete_project": (rest("DELETE", "https://api.vercel.com/v9/projects/site"), D, A),
    "vercel.delete_env": (rest("DELETE", "https://api.vercel.com/v9/projects/site/env/env1"), D, A),
    "vercel.delete_deployment": (rest("DELETE", "https://api.vercel.com/v13/deployments/dpl_1"), D, A),
    "vercel.delete_domain": (rest("DELETE", "https://api.vercel.com/v6/domains/example.com"), D, A),
    "fly.delete_app": (rest("DELETE", "https://api.machines.dev/v1/apps/shop"), D, A),
    "fly.delete_volume": (rest("DELETE", "https://api.machines.dev/v1/apps/shop/volumes/vol_1"), D, A),
    "fly.destroy_machine": (rest("DELETE", "https://api.machines.dev/v1/apps/shop/machines/m1"), D, A),
    "fly.graphql.delete_app": (gql(FLY_GQL, 'mutation { deleteApp(appId: "shop") { organization { id } } }'), D, A),
    "fly.graphql.delete_volume": (
        gql(FLY_GQL, 'mutation { deleteVolume(input: {volumeId: "vol_1"}) { app { name } } }'), D, A,
    ),
    "heroku.delete_app": (rest("DELETE", "https://api.heroku.com/apps/shop"), D, A),
    "heroku.delete_addon": (rest("DELETE", "https://api.heroku.com/apps/shop/addons/postgresql-1"), D, A),
    "heroku.delete_addon_by_id": (rest("DELETE", "https://api.heroku.com/addons/postgresql-1"), D, A),
    "digitalocean.delete_database_cluster": (rest("DELETE", "https://api.digitalocean.com/v2/databases/9cc1"), D, A),
    "digitalocean.delete_database": (rest("DELETE", "https://api.digitalocean.com/v2/databases/9cc1/dbs/shop"), D, A),
    "digitalocean.delete_droplets_by_tag": (rest("DELETE", "https://api.digitalocean.com/v2/droplets?tag_name=web"), D, A),
    "digitalocean.delete_droplet": (rest("DELETE", "https://api.digitalocean.com/v2/droplets/3164"), D, A),
    "digitalocean.rebuild_droplet": (
        rest("POST", "https://api.digitalocean.com/v2/droplets/3164/actions", {"type": "rebuild", "image": "ubuntu"}),
        D, A,
    ),
    "digitalocean.delete_volume": (rest("DELETE", "https://api.digitalocean.com/v2/volumes/7724"), D, A),
    "digitalocean.delete_snapshot": (rest("DELETE", "https://api.digitalocean.com/v2/snapshots/6372"), D, A),
    "digitalocean.delete_kubernetes_cluster_dangerous": (
        rest("DELETE", "https://api.digitalocean.com/v2/kubernetes/clusters/k1/destroy_with_associated_resources/dangerous"),
        D, D,
    ),
    "digitalocean.delete_kubernetes_cluster": (rest("DELETE", "https://api.digitalocean.com/v2/kubernetes/clusters/k1"), D, A),
    "digitalocean.delete_app": (rest("DELETE", "https://api.digitalocean.com/v2/apps/a1"), D, A),
    "cloudflare.delete_zone": (rest("DELETE", "https://api.cloudflare.com/client/v4/zones/z1"), D, A),
    "cloudflare.delete_dns_record": (rest("DELETE", "https://api.cloudflare.com/client/v4/zones/z1/dns_records/r1"), D, A),
    "cloudflare.delete_r2_bucket": (rest("DELETE", "https://api.cloudflare.com/client/v4/accounts/a1/r2/buckets/media"), D, A),
    "cloudflare.delete_d1_database": (
        rest("DELETE", "https://api.cloudflare.com/client/v4/accounts/a1/d1/database/d1id"), D, A,
    ),
    "cloudflare.d1_query": (
        rest("POST", "https://api.cloudflare.com/client/v4/accounts/a1/d1/database/d1id/query", {"sql": "DROP TABLE users"}),
        D, A,
    ),
    "cloudflare.delete_kv_namespace": (
        rest("DELETE", "https://api.cloudflare.com/client/v4/accounts/a1/storage/kv/namespaces/ns1"), D, A,
    ),
    "cloudflare.delete_worker": (rest("DELETE", "https://api.cloudflare.com/client/v4/accounts/a1/workers/scripts/api"), D, A),
}  # fmt: skip

NO_INVENTORY = Policy(project_root="/home/dev/app", home="/home/dev")
STAGING = Policy(
    project_root="/home/dev/app",
    home="/home/dev",
    inventory={"staging": {kind: ("*",) for kind in KINDS}},
)


def decide_request(request: Request, policy: Policy) -> tuple[Verdict, list[str]]:
    method, url, headers, body = request
    decision = decide(HttpAction(method=method, url=url, headers=headers, body=body), policy)
    return decision.verdict, [f.rule for f in decision.findings]


def test_every_entry_has_a_case() -> None:
    assert {op.id for op in providers().operations} == set(CASES)


@pytest.mark.parametrize("entry", sorted(CASES))
def test_entry(entry: str) -> None:
    request, unknown, staging = CASES[entry]
    op = next(o for o in providers().operations if o.id == entry)
    verdict, rules = decide_request(request, NO_INVENTORY)
    if op.sql is None:
        assert f"http.provider.{entry}" in rules, rules
    else:
        assert rules and all(r.startswith("sql.") for r in rules), rules
    assert verdict is unknown
    assert decide_request(request, STAGING)[0] is staging


def test_summaries_name_their_target() -> None:
    for entry, (request, _, _) in CASES.items():
        method, url, headers, body = request
        decision = decide(
            HttpAction(method=method, url=url, headers=headers, body=body), NO_INVENTORY
        )
        for finding in decision.findings:
            assert "{" not in finding.summary and "(not named)" not in finding.summary, entry


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[provider]]\nname = "X"\nhosts = ["x"]\nbogus = 1\n', "unknown keys"),
        (
            '[[provider]]\nname = "X"\n[[operation]]\nid = "x.a"\nprovider = "Y"\noperation = "o"\n'
            'summary = "s"\nenvironment = "host"\ngraphql = "a"\n',
            "unknown provider",
        ),
        (
            '[[provider]]\nname = "X"\n[[operation]]\nid = "x.a"\nprovider = "X"\noperation = "o"\n'
            'summary = "s"\nenvironment = "planet"\ngraphql = "a"\n',
            "environment must be",
        ),
        (
            '[[provider]]\nname = "X"\n[[operation]]\nid = "x.a"\nprovider = "X"\noperation = "o"\n'
            'summary = "s"\nenvironment = "host"\npath = "/a"\n',
            "path and method",
        ),
    ],
)
def test_malformed_catalog_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(tmp_path)
