"""``terraform`` for the DataTalks.Club replay: Terraform's files and output, AWS replaced by
local PostgreSQL databases.

The real AWS provider cannot run here (no network, no account), so this stand-in is what the
agent's ``terraform`` resolves to (first on its PATH, and what ``interlock terraform`` runs). It
keeps to Terraform's own formats, so that everything Interlock reads is what Terraform would
give it:

- configuration from ``*.tf.json`` (Terraform's JSON syntax), state from ``terraform.tfstate``
  (format version 4); no state means nothing exists, as after the DataTalks state file was lost;
- ``plan [-destroy] [-out=FILE]``: a destroy plans a delete of everything in the state; a
  normal plan creates what is configured and missing, and deletes what is in the state but not
  configured (``delete_because_no_resource_config``);
- ``show -json FILE``: the plan as ``terraform show -json`` prints it (format 1.2:
  ``resource_changes`` with ``change.actions``/``before``/``after``, ``prior_state``,
  ``configuration``);
- ``apply [-auto-approve] [FILE]`` and ``destroy -auto-approve``: the deletes are carried out on
  the "AWS account" (``$REPLAY_AWS``, a JSON file naming the database behind each RDS
  instance, automated backup and snapshot): deleting an instance drops its database and, as RDS
  does unless told otherwise, its automated backups; deleting a snapshot drops its copy.

Each AWS call is appended to ``aws-calls.jsonl`` next to ``$REPLAY_AWS`` for the timeline.
Creates are planned but never applied (the replay does not need them).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

VERSION = "1.11.4"
PROVIDER = "registry.terraform.io/hashicorp/aws"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("-chdir=")]
    for a in argv:
        if a.startswith("-chdir="):
            os.chdir(a.split("=", 1)[1])
    if not args:
        print("Usage: terraform [global options] <subcommand> [args]", file=sys.stderr)
        return 1
    command, rest = args[0], args[1:]
    if command == "version":
        print(f"Terraform v{VERSION}\non linux_amd64 (Interlock replay stand-in for AWS)")
        return 0
    if command == "init":
        print("Terraform has been successfully initialized!")
        return 0
    if command == "plan":
        return plan_command(rest)
    if command == "show":
        return show_command(rest)
    if command in ("apply", "destroy"):
        return apply_command(rest, destroy=command == "destroy")
    print(f"terraform: the replay's stand-in does not run {command!r}", file=sys.stderr)
    return 1


# --- plans ------------------------------------------------------------------------------------


def load_config() -> dict[str, dict[str, dict[str, Any]]]:
    """type -> name -> arguments, from every ``*.tf.json`` in the working folder."""
    resources: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(Path.cwd().glob("*.tf.json")):
        for rtype, named in json.loads(path.read_text("utf-8")).get("resource", {}).items():
            resources.setdefault(rtype, {}).update(named)
    return resources


def load_state() -> list[dict[str, Any]]:
    path = Path.cwd() / "terraform.tfstate"
    if not path.exists():
        return []
    state = json.loads(path.read_text("utf-8"))
    return [r for r in state.get("resources", []) if r.get("mode") == "managed"]


def make_plan(destroy: bool) -> dict[str, Any]:
    config, state = load_config(), load_state()
    changes = []
    in_state = {(r["type"], r["name"]) for r in state}
    for resource in state:
        configured = resource["name"] in config.get(resource["type"], {})
        if destroy or not configured:
            change = _change(resource, ["delete"], resource["instances"][0]["attributes"], None)
            if not destroy:
                change["action_reason"] = "delete_because_no_resource_config"
            changes.append(change)
        else:
            attrs = resource["instances"][0]["attributes"]
            changes.append(_change(resource, ["no-op"], attrs, attrs))
    if not destroy:
        for rtype, named in config.items():
            for name, arguments in named.items():
                if (rtype, name) not in in_state:
                    resource = {"type": rtype, "name": name}
                    changes.append(_change(resource, ["create"], None, arguments))
    return {
        "format_version": "1.2",
        "terraform_version": VERSION,
        "variables": {"environment": {"value": _variable("environment")}},
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
        "prior_state": {
            "format_version": "1.0",
            "terraform_version": VERSION,
            "values": {
                "root_module": {
                    "resources": [
                        {
                            "address": f"{r['type']}.{r['name']}",
                            "mode": "managed",
                            "type": r["type"],
                            "name": r["name"],
                            "provider_name": PROVIDER,
                            "values": r["instances"][0]["attributes"],
                        }
                        for r in state
                    ]
                }
            },
        },
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
            "root_module": {},
        },
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "applyable": bool([c for c in changes if c["change"]["actions"] != ["no-op"]]),
        "complete": True,
        "errored": False,
    }


def _variable(name: str) -> str:
    for path in sorted(Path.cwd().glob("*.tf.json")):
        found = json.loads(path.read_text("utf-8")).get("variable", {}).get(name)
        if isinstance(found, dict) and "default" in found:
            return str(found["default"])
    return ""


def _change(
    resource: dict[str, Any], actions: list[str], before: Any, after: Any
) -> dict[str, Any]:
    return {
        "address": f"{resource['type']}.{resource['name']}",
        "mode": "managed",
        "type": resource["type"],
        "name": resource["name"],
        "provider_name": PROVIDER,
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {},
            "before_sensitive": {} if before is not None else False,
            "after_sensitive": {} if after is not None else False,
        },
    }


def counts(plan: dict[str, Any]) -> str:
    actions = [c["change"]["actions"] for c in plan["resource_changes"]]
    add = sum(1 for a in actions if "create" in a)
    delete = sum(1 for a in actions if "delete" in a)
    return f"Plan: {add} to add, 0 to change, {delete} to destroy."


def plan_command(rest: list[str]) -> int:
    destroy = "-destroy" in rest
    out = next((a.split("=", 1)[1] for a in rest if a.startswith("-out=")), None)
    plan = make_plan(destroy)
    for change in plan["resource_changes"]:
        actions = change["change"]["actions"]
        if actions != ["no-op"]:
            verb = "will be destroyed" if "delete" in actions else "will be created"
            print(f"  # {change['address']} {verb}")
    print(counts(plan))
    if out:
        Path(out).write_text(json.dumps({"standin_plan": plan, "destroy": destroy}), "utf-8")
    return 0


def show_command(rest: list[str]) -> int:
    files = [a for a in rest if not a.startswith("-")]
    if "-json" not in rest or len(files) != 1:
        print("terraform show: the stand-in prints saved plans with -json only", file=sys.stderr)
        return 1
    saved = json.loads(Path(files[0]).read_text("utf-8"))
    print(json.dumps(saved["standin_plan"]))
    return 0


# --- applying: the AWS side ---------------------------------------------------------------------


def apply_command(rest: list[str], destroy: bool) -> int:
    files = [a for a in rest if not a.startswith("-")]
    if files:
        plan = json.loads(Path(files[0]).read_text("utf-8"))["standin_plan"]
    else:
        plan = make_plan(destroy)
        print(counts(plan))
        if "-auto-approve" not in rest:
            print("\nApply cancelled: there is no terminal to type 'yes' on.", file=sys.stderr)
            return 1
    aws = Account(Path(os.environ["REPLAY_AWS"]))
    destroyed = 0
    for change in plan["resource_changes"]:
        actions = change["change"]["actions"]
        if "create" in actions:
            print(f"{change['address']}: the stand-in does not create resources", file=sys.stderr)
            return 1
        if "delete" in actions:
            print(f"{change['address']}: Destroying...")
            aws.delete(change["type"], change["change"]["before"] or {})
            forget(change["type"], change["name"])
            destroyed += 1
    word = "Destroy" if destroy else "Apply"
    print(f"\n{word} complete! Resources: {destroyed} destroyed.")
    return 0


def forget(rtype: str, name: str) -> None:
    path = Path.cwd() / "terraform.tfstate"
    state = json.loads(path.read_text("utf-8"))
    state["resources"] = [
        r for r in state["resources"] if not (r["type"] == rtype and r["name"] == name)
    ]
    state["serial"] = int(state.get("serial", 0)) + 1
    path.write_text(json.dumps(state, indent=2), "utf-8")


class Account:
    """The AWS account: which PostgreSQL database stands for each RDS instance and snapshot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = json.loads(path.read_text("utf-8"))

    def delete(self, rtype: str, before: dict[str, Any]) -> None:
        if rtype == "aws_db_instance":
            ident = str(before.get("identifier", ""))
            instance = self.data["db_instances"].pop(ident, None)
            if instance is None:
                return
            doomed = [instance["database"]]
            note = "final snapshot skipped" if before.get("skip_final_snapshot") else ""
            if before.get("delete_automated_backups", True):
                doomed += instance["automated_backups"]
                note += f"; {len(instance['automated_backups'])} automated backups deleted with it"
            self._drop(doomed)
            self._log("DeleteDBInstance", ident, note.strip("; "))
        elif rtype == "aws_db_snapshot":
            ident = str(before.get("db_snapshot_identifier", ""))
            database = self.data["db_snapshots"].pop(ident, None)
            if database is not None:
                self._drop([database])
                self._log("DeleteDBSnapshot", ident, "")
        else:
            self._log(_action(rtype), str(before.get("id", "")), "")
        self.path.write_text(json.dumps(self.data, indent=2), "utf-8")

    def _drop(self, databases: list[str]) -> None:
        with psycopg.connect(self.data["server"], autocommit=True, connect_timeout=5) as conn:
            for database in databases:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )

    def _log(self, action: str, target: str, note: str) -> None:
        record = {"id": uuid.uuid4().hex, "action": action, "target": target, "note": note}
        with (self.path.parent / "aws-calls.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def _action(rtype: str) -> str:
    """``aws_ecs_cluster`` -> ``DeleteEcsCluster``: the call's name, for the record only."""
    return "Delete" + "".join(part.capitalize() for part in rtype.split("_")[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
