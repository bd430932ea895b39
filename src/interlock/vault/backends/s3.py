"""A vault in an S3 bucket with Object Lock in compliance mode (``s3://bucket/prefix``)::

    <prefix>/config               plaintext: format version, key id, chunk size
    <prefix>/objects/ab12…        sealed data chunks, named by the SHA-256 of the stored bytes
    <prefix>/snapshots/cd34…      sealed manifests, named the same way

The store, not our code, keeps backups: every object is written with
``ObjectLockMode=COMPLIANCE`` and a retain-until date (now + ``$INTERLOCK_VAULT_S3_RETAIN``,
default 30 days), and until then S3 refuses to delete that version or shorten its lock, to
everyone, the account's root user too. Rules this module keeps on top (issue 7; moto, our test
server, does not enforce all of S3's, see ../shared/notes/deps.md §5 and docs/vault.md):

1. On open, the bucket MUST have Object Lock enabled and versioning ``Enabled``, and a default
   retention, if any, MUST be COMPLIANCE: anything else is refused, with how to make a bucket.
2. ``put`` is write-once: a name with any stored version (even one hidden by a delete marker)
   is :class:`ObjectExists`, and the upload carries ``If-None-Match: *`` so a racing writer is
   refused by S3. After it, the version written is read back (HEAD): COMPLIANCE, the date
   asked for, the size and SHA-256 sent; anything else is an error.
3. ``get`` reads the OLDEST version of a name: a later PutObject by whoever holds write
   access makes a new version that is never read, and a DeleteObject without a version id
   (a delete marker) hides nothing from the vault. :meth:`S3Backend.tampering` names both, for
   ``interlock vault verify``.
4. Retention is only ever written in COMPLIANCE mode and never shortened
   (:func:`check_retention`, the one gate for every retention write), whatever the store
   would allow: moto lets a client shorten a compliance lock or turn it into GOVERNANCE.

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``…, a profile, an instance
role) and never appear in a message; the vault key never reaches the bucket.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
)

from interlock.vault.backends import Kind, ObjectExists, ObjectLocked
from interlock.vault.errors import VaultError
from interlock.vault.settings import duration

__all__ = [
    "DEFAULT_RETAIN",
    "ENDPOINT_ENV",
    "MODE",
    "RETAIN_ENV",
    "S3Backend",
    "check_retention",
    "from_url",
    "parse_url",
]

ENDPOINT_ENV = "INTERLOCK_VAULT_S3_ENDPOINT"
RETAIN_ENV = "INTERLOCK_VAULT_S3_RETAIN"
DEFAULT_RETAIN = "30d"
# The only lock mode written. GOVERNANCE can be lifted by anyone granted
# s3:BypassGovernanceRetention, so a stolen admin role could delete every backup at once.
MODE = "COMPLIANCE"
# Each object records the lock it was written with, so a lock found shorter later (possible
# on stores that do not enforce compliance mode, such as moto) is reported, not trusted.
_WRITTEN_UNTIL = "interlock-locked-until"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
# What boto3 raises for a store's refusal or an unreachable endpoint; anything else is a bug.
_FAILURES = (BotoCoreError, ClientError)
_EXISTS = {"PreconditionFailed", "ConditionalRequestConflict"}
_MISSING = {"NoSuchKey", "NoSuchVersion", "404"}
_SETUP_HINT = (
    "make the bucket with Object Lock and compliance-mode default retention: "
    "`aws s3api create-bucket --bucket BUCKET --object-lock-enabled-for-bucket` then "
    "`aws s3api put-object-lock-configuration --bucket BUCKET --object-lock-configuration "
    '\'{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":30}}}\'`'
    " (docs/vault.md, S3 with Object Lock)"
)


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix without slashes at either end)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "s3":
        raise VaultError("an S3 vault is given as s3://bucket/prefix")
    if "@" in parts.netloc or ":" in parts.netloc:
        # Never echo it: what precedes the '@' may be a credential.
        raise VaultError(
            "an s3:// vault URL holds only a bucket and a prefix, never credentials",
            "give credentials the usual AWS way (AWS_ACCESS_KEY_ID…, AWS_PROFILE, a role)",
        )
    if parts.query or parts.fragment:
        raise VaultError("an s3:// vault URL takes no ?query or #fragment")
    bucket = parts.netloc
    if not _BUCKET.match(bucket):
        raise VaultError(f"not an S3 bucket name: {bucket[:80]!r}")
    segments = [s for s in parts.path.split("/") if s]
    for segment in segments:
        if segment in (".", "..") or not _SEGMENT.match(segment):
            raise VaultError(
                f"the prefix in {url[:200]!r} may hold only letters, digits, '.', '_', '-' and '/'"
            )
    return bucket, "/".join(segments)


def from_url(url: str) -> S3Backend:
    """The bucket and prefix of ``url``, checked (rule 1) before anything is read or written."""
    bucket, prefix = parse_url(url)
    retain = duration(os.environ.get(RETAIN_ENV) or DEFAULT_RETAIN, RETAIN_ENV)
    backend = S3Backend(_client(os.environ.get(ENDPOINT_ENV) or None), bucket, prefix, retain)
    backend.check_bucket()
    return backend


def check_retention(mode: str, until: datetime, current: datetime | None) -> None:
    """Rule 4, checked before every retention write: only COMPLIANCE, never shorter."""
    if mode != MODE:
        raise VaultError(
            f"refusing an Object Lock in {mode} mode: the vault writes only {MODE}",
            "a GOVERNANCE lock can be lifted by anyone allowed s3:BypassGovernanceRetention",
        )
    if until.tzinfo is None:
        raise VaultError("a lock's end must carry a time zone (UTC)")
    if current is not None and until < current:
        raise ObjectLocked(
            f"locked until {_iso(current)}; a lock until {_iso(until)} would shorten it"
        )


@dataclass
class _Versions:
    """One key's history, newest first (as S3 lists it): stored versions and delete markers."""

    versions: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)

    @property
    def oldest(self) -> str | None:
        return self.versions[-1] if self.versions else None


class S3Backend:
    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        retain_seconds: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retain_seconds = retain_seconds
        # Only ``put`` and ``remove`` read the clock (the lock's start, the expiry check).
        self.clock = clock
        # Lock problems seen while reading (rule 4 broken by the store), for ``tampering``.
        self._lock_problems: dict[str, str] = {}
        # What cannot change while a name is locked, remembered to save requests: the oldest
        # version of a key (locked versions cannot be deleted) and the lock's end as last
        # read or written here (compliance locks only grow). ``remove`` reads afresh.
        self._first: dict[str, str] = {}
        self._locks: dict[str, datetime] = {}

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, kind: Kind, name: str) -> str:
        _check_name(name)
        path = "config" if kind == "config" else f"{kind}/{name}"
        return f"{self.prefix}/{path}" if self.prefix else path

    # -- opening --------------------------------------------------------------------------

    def check_bucket(self) -> None:
        """Rule 1: Object Lock on, versioning Enabled, a default retention only in COMPLIANCE."""
        where = f"bucket {self.bucket}"
        try:
            lock = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except _FAILURES as exc:
            code = _code(exc)
            if code in ("ObjectLockConfigurationNotFoundError", "InvalidRequest"):
                raise VaultError(
                    f"{where} does not have Object Lock enabled", _SETUP_HINT
                ) from None
            if code == "NoSuchBucket":
                raise VaultError(
                    f"there is no {where} at {self._endpoint()}", _SETUP_HINT
                ) from None
            raise self._error(exc, f"read the Object Lock settings of {where}") from None
        config = lock.get("ObjectLockConfiguration", {})
        if config.get("ObjectLockEnabled") != "Enabled":
            raise VaultError(f"{where} does not have Object Lock enabled", _SETUP_HINT)
        default = config.get("Rule", {}).get("DefaultRetention", {}).get("Mode")
        if default is not None and default != MODE:
            raise VaultError(
                f"{where} has a {default} default retention; the vault needs {MODE}", _SETUP_HINT
            )
        try:
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except _FAILURES as exc:
            raise self._error(exc, f"read the versioning of {where}") from None
        if status != "Enabled":
            raise VaultError(
                f"{where} has versioning {status or 'off'}; Object Lock needs it Enabled",
                f"`aws s3api put-bucket-versioning --bucket {self.bucket} "
                "--versioning-configuration Status=Enabled` (real S3 never lets a lock bucket "
                "suspend it; only a store that does not enforce Object Lock would)",
            )

    # -- the Backend protocol -------------------------------------------------------------

    def put(self, kind: Kind, name: str, data: bytes) -> None:
        key = self.key(kind, name)
        if self._oldest(key) is not None:
            raise ObjectExists(name)
        # Whole seconds, as S3 keeps them, so the read-back compares like with like.
        until = datetime.fromtimestamp(math.ceil(self.clock() + self.retain_seconds), UTC)
        check_retention(MODE, until, None)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            written = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                IfNoneMatch="*",
                ObjectLockMode=MODE,
                ObjectLockRetainUntilDate=until,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=digest,
                Metadata={_WRITTEN_UNTIL: _iso(until)},
            )
        except _FAILURES as exc:
            if _code(exc) in _EXISTS:
                raise ObjectExists(name) from None
            raise self._error(
                exc, f"store {kind[:-1] if kind != 'config' else kind} {name}"
            ) from None
        self._check_written(key, written.get("VersionId"), until, len(data), digest)

    def get(self, kind: Kind, name: str) -> bytes:
        key = self.key(kind, name)
        for attempt in (1, 2):
            version = self._oldest(key)
            if version is None:
                raise FileNotFoundError(key)
            try:
                found = self.client.get_object(Bucket=self.bucket, Key=key, VersionId=version)
                data: bytes = found["Body"].read()
            except _FAILURES as exc:
                if _code(exc) not in _MISSING:
                    raise self._error(exc, f"read {key}") from None
                # Removed since it was remembered (an expired lock, an admin's purge): ask again.
                self._first.pop(key, None)
                if attempt == 2:
                    raise FileNotFoundError(key) from None
                continue
            self._note_lock(key, found)
            return data
        raise FileNotFoundError(key)

    def exists(self, kind: Kind, name: str) -> bool:
        return self._oldest(self.key(kind, name)) is not None

    def list(self, kind: Kind) -> list[str]:
        if kind == "config":
            return ["config"] if self.exists("config", "config") else []
        start = f"{self.prefix}/{kind}/" if self.prefix else f"{kind}/"
        names = {key[len(start) :] for key, history in self._histories(start) if history.versions}
        return sorted(n for n in names if _is_name(n))

    # -- locks and removal (Lockable) -----------------------------------------------------

    def locked_until(self, kind: Kind, name: str) -> datetime | None:
        key = self.key(kind, name)
        if key in self._locks:
            return self._locks[key]
        version = self._oldest(key)
        if version is None:
            raise FileNotFoundError(key)
        return self._retention(key, version)[1]

    def extend_lock(self, kind: Kind, name: str, until: datetime) -> None:
        key = self.key(kind, name)
        version = self._oldest(key)
        if version is None:
            raise VaultError(f"cannot lock {key}: it is not in the vault")
        if until.tzinfo is None:
            raise VaultError("a lock's end must carry a time zone (UTC)")
        # S3 keeps whole seconds: round up, so the lock never ends before the one asked for.
        until = until.astimezone(UTC)
        if until.microsecond:
            until = until.replace(microsecond=0) + timedelta(seconds=1)
        mode, current = self._retention(key, version)
        try:
            check_retention(MODE, until, current)
        except ObjectLocked as exc:
            raise ObjectLocked(f"{key} is {exc}") from None
        if current == until and mode == MODE:
            return
        try:
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=key,
                VersionId=version,
                Retention={"Mode": MODE, "RetainUntilDate": until},
            )
        except _FAILURES as exc:
            raise self._error(exc, f"lengthen the lock on {key}") from None
        self._locks[key] = until

    def remove(self, kind: Kind, name: str) -> None:
        """Every version and delete marker of ``name``; refused while any version is locked
        (checked here first, and by S3 itself, which refuses a locked version to everyone)."""
        if kind == "config":
            raise VaultError("the vault's config is never removed")
        key = self.key(kind, name)
        try:
            self._remove(key)
        finally:
            self._first.pop(key, None)
            self._locks.pop(key, None)

    def _remove(self, key: str) -> None:
        history = self._history(key)
        if not history.versions:
            raise FileNotFoundError(key)
        now = datetime.fromtimestamp(self.clock(), UTC)
        for version in history.versions:
            _, until = self._retention(key, version)
            if until is not None and until > now:
                raise ObjectLocked(f"{key} is locked until {_iso(until)}")
        for version in [*history.versions, *history.markers]:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
            except _FAILURES as exc:
                if _code(exc) == "AccessDenied":
                    raise ObjectLocked(f"S3 refused to remove {key}: it is still locked") from None
                raise self._error(exc, f"remove {key}") from None

    # -- what verify reports --------------------------------------------------------------

    def tampering(self) -> builtins.list[str]:
        """What was written over, deleted or unlocked in the bucket, one line per name.

        None of it loses a backup (the oldest version is read, locked versions cannot be
        deleted), but each is a write no Interlock writer makes: somebody holding the bucket's
        credentials tried. Lock problems are those seen by reads so far (``verify`` reads all).
        """
        found: builtins.list[str] = []
        try:
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except _FAILURES as exc:
            raise self._error(exc, f"read the versioning of bucket {self.bucket}") from None
        if status != "Enabled":
            found.append(f"bucket {self.bucket} has versioning {status or 'off'} (must be Enabled)")
        start = f"{self.prefix}/" if self.prefix else ""
        for key, history in self._histories(start):
            if len(history.versions) > 1:
                found.append(
                    f"{key}: {len(history.versions)} versions under one name; the later ones "
                    "were written over it and are ignored (the oldest, written first, is read)"
                )
            if history.markers:
                found.append(
                    f"{key}: deleted without a version id ({len(history.markers)} delete "
                    "marker(s)); the locked version is intact and is what the vault reads"
                )
        found.extend(problem for _, problem in sorted(self._lock_problems.items()))
        return found

    # -- helpers --------------------------------------------------------------------------

    def _check_written(
        self, key: str, version: str | None, until: datetime, size: int, digest: str
    ) -> None:
        """Rule 2's read-back: the version just written is locked as asked and holds our bytes."""
        if not version:
            raise VaultError(
                f"bucket {self.bucket} gave no version id for {key}: versioning is off",
                _SETUP_HINT,
            )
        try:
            head = self.client.head_object(
                Bucket=self.bucket, Key=key, VersionId=version, ChecksumMode="ENABLED"
            )
        except _FAILURES as exc:
            raise self._error(exc, f"read back {key}") from None
        wrong = []
        if head.get("ObjectLockMode") != MODE:
            wrong.append(f"lock mode {head.get('ObjectLockMode') or 'none'}, not {MODE}")
        stored_until = head.get("ObjectLockRetainUntilDate")
        if not isinstance(stored_until, datetime) or stored_until < until:
            wrong.append(f"locked until {stored_until}, not {_iso(until)}")
        if head.get("ContentLength") != size:
            wrong.append(f"{head.get('ContentLength')} bytes, not {size}")
        if head.get("ChecksumSHA256", digest) != digest:
            wrong.append("a SHA-256 other than the one sent")
        if wrong:
            raise VaultError(
                f"{self.location} stored {key} with {'; '.join(wrong)}",
                "the store does not honour Object Lock as asked: use a bucket made as in "
                "docs/vault.md (S3 with Object Lock), and do not trust this one for backups",
            )
        assert isinstance(stored_until, datetime)
        self._first[key] = version
        self._locks[key] = stored_until.astimezone(UTC)

    def _retention(self, key: str, version: str) -> tuple[str | None, datetime | None]:
        """The lock on one version (HEAD shows it to a caller allowed s3:GetObjectRetention;
        moto has no GetObjectRetention)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version)
        except _FAILURES as exc:
            raise self._error(exc, f"read the lock on {key}") from None
        self._note_lock(key, head)
        until = head.get("ObjectLockRetainUntilDate")
        mode = head.get("ObjectLockMode")
        if not isinstance(until, datetime):
            self._locks.pop(key, None)
            return mode, None
        self._locks[key] = until.astimezone(UTC)
        return mode, self._locks[key]

    def _note_lock(self, key: str, found: dict[str, Any]) -> None:
        """Rule 4 as the store kept it: still COMPLIANCE, never shorter than when written."""
        mode = found.get("ObjectLockMode")
        until = found.get("ObjectLockRetainUntilDate")
        written = found.get("Metadata", {}).get(_WRITTEN_UNTIL)
        if mode != MODE:
            self._lock_problems[key] = f"{key}: locked in {mode or 'no'} mode, not {MODE}"
        elif written and isinstance(until, datetime) and until < _parse_iso(written):
            self._lock_problems[key] = (
                f"{key}: its lock was shortened to {_iso(until)} (written until {written})"
            )

    def _oldest(self, key: str) -> str | None:
        if key not in self._first:
            oldest = self._history(key).oldest
            if oldest is None:
                return None
        return self._first[key]

    def _history(self, key: str) -> _Versions:
        for found, history in self._histories(key):
            if found == key:
                return history
        return _Versions()

    def _histories(self, prefix: str) -> Iterator[tuple[str, _Versions]]:
        """Each key under ``prefix`` with its versions and delete markers, in key order."""
        histories: dict[str, _Versions] = {}
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for entry in page.get("Versions", []):
                    histories.setdefault(entry["Key"], _Versions()).versions.append(
                        entry["VersionId"]
                    )
                for entry in page.get("DeleteMarkers", []):
                    histories.setdefault(entry["Key"], _Versions()).markers.append(
                        entry["VersionId"]
                    )
        except _FAILURES as exc:
            raise self._error(exc, f"list {self.location}") from None
        for key, history in histories.items():
            if history.oldest is not None:
                self._first[key] = history.oldest
        yield from sorted(histories.items())

    def _endpoint(self) -> str:
        return str(getattr(self.client.meta, "endpoint_url", "") or "AWS")

    def _error(self, exc: Exception, doing: str) -> VaultError:
        """A store failure as a VaultError: the S3 code and message, never a credential."""
        if isinstance(exc, NoCredentialsError):
            return VaultError(
                f"cannot {doing}: no AWS credentials",
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with a role",
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "?")
            message = str(error.get("Message", ""))[:200]
            hint = ""
            if code in ("AccessDenied", "403"):
                hint = (
                    "the credentials in use lack a permission the vault needs (docs/vault.md, IAM)"
                )
            return VaultError(f"cannot {doing} at {self.location}: {code} {message}".strip(), hint)
        return VaultError(
            f"cannot {doing} at {self.location}: {type(exc).__name__}",
            f"check that {self._endpoint()} is reachable ({ENDPOINT_ENV} for MinIO and tests)",
        )


# Clients by endpoint and AWS settings: making one loads S3's service model (0.1 to 1 s), and
# `vault schedule` or the snapshotter open the vault again for every backup. boto3 clients
# are thread-safe. The settings are kept only as a hash, so no credential is copied here.
_CLIENTS: dict[tuple[str | None, str], Any] = {}
_AWS_SETTINGS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
)


def _client(endpoint: str | None) -> Any:
    settings = "\0".join(os.environ.get(name, "") for name in _AWS_SETTINGS)
    key = (endpoint, hashlib.sha256(settings.encode()).hexdigest())
    if key not in _CLIENTS:
        _CLIENTS[key] = _new_client(endpoint)
    return _CLIENTS[key]


def _new_client(endpoint: str | None) -> Any:
    options: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 5}}
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            raise VaultError(
                f"{ENDPOINT_ENV} must be an http(s)://host[:port] URL without credentials"
            )
        # MinIO and moto serve buckets by path, not by host name.
        options["s3"] = {"addressing_style": "path"}
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=Config(**options))


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _check_name(name: str) -> None:
    if name != "config" and not _is_name(name):
        raise VaultError(f"not a vault object name: {name[:80]!r}")


def _is_name(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # An unreadable record is not trusted as "no lock"; it reads as one written far ahead,
        # so any current lock is reported as shorter.
        return datetime.max.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
