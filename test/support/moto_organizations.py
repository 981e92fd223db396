"""Starts moto (through moto_server.py, with its fixes) with four Organizations gaps filled.

moto creates every account at once and accepts any e-mail; AWS does neither:
- CreateAccount is asynchronous: DescribeCreateAccountStatus reads IN_PROGRESS (no AccountId) for
  a while before SUCCEEDED. With INFRA_MOTO_CREATE_ACCOUNT_POLLS=N a new request reads
  IN_PROGRESS for its first N status reads (DescribeCreateAccountStatus, ListCreateAccountStatus),
  then SUCCEEDED. Unset or 0 keeps moto's behaviour.
- An e-mail belongs to one AWS account: CreateAccount with an e-mail that any account already
  uses (in any organization moto holds) ends FAILED with EMAIL_ALREADY_EXISTS, as AWS reports it.
- Account objects (DescribeAccount, ListAccounts, ListAccountsForParent) carry `State` (ACTIVE,
  PENDING_ACTIVATION, SUSPENDED, PENDING_CLOSURE, CLOSED) and no `Status`: Organizations retired
  `Status` on 2026-09-09. Source: the note on `Account.Status` in @aws-sdk/client-organizations
  (dist-types/models/models_0.d.ts: "The Status parameter in the Account object will be retired on
  September 9, 2026 ... use the State parameter instead"), and the AccountState enum
  (dist-types/models/enums.d.ts). moto 5.2 still sends both.
- CloseAccount has a quota: "Within a rolling 30 day period you can close the higher of either 250
  or 20% of the member accounts in your organization, up to a maximum of 1,000" (the note in
  @aws-sdk/client-organizations dist-types/commands/CloseAccountCommand.d.ts); past it AWS answers
  ConstraintViolationException with Reason CLOSE_ACCOUNT_QUOTA_EXCEEDED. moto has no quota.
  INFRA_MOTO_CLOSE_ACCOUNT_QUOTA=N sets the number (a test cannot close 250 accounts quickly);
  unset, AWS's rule applies.
Nothing else changes.

Usage: python3 moto_organizations.py [moto_server arguments]
"""
import json
import os
import runpy
import sys
import time

from moto.organizations import models
from moto.organizations.models import FakeAccount, OrganizationsBackend, organizations_backends
from moto.organizations import utils
from moto.core.exceptions import JsonRESTError

_POLLS = int(os.environ.get("INFRA_MOTO_CREATE_ACCOUNT_POLLS", "0") or 0)
_FAILED = {}

_original_status = FakeAccount.create_account_status.fget


def _status(self):
    status = _original_status(self)
    if getattr(self, "_infra_polls_left", 0) > 0:
        inner = dict(status["CreateAccountStatus"], State="IN_PROGRESS")
        inner.pop("AccountId", None)
        inner.pop("CompletedTimestamp", None)
        return {"CreateAccountStatus": inner}
    return status


FakeAccount.create_account_status = property(_status)


def _email_taken(email):
    wanted = email.lower()
    for _account_id, by_partition in list(organizations_backends.items()):
        for backend in list(by_partition.values()):
            if any((account.email or "").lower() == wanted for account in backend.accounts):
                return True
    return False


_original_create = OrganizationsBackend.create_account


def _create_account(self, **kwargs):
    if self.org is not None and _email_taken(kwargs["Email"]):
        request_id = utils.make_random_create_account_status_id()
        status = {
            "Id": request_id,
            "AccountName": kwargs["AccountName"],
            "State": "FAILED",
            "FailureReason": "EMAIL_ALREADY_EXISTS",
            "RequestedTimestamp": models.unix_time(),
            "CompletedTimestamp": models.unix_time(),
        }
        _FAILED[request_id] = status
        return {"CreateAccountStatus": dict(status, State="IN_PROGRESS", FailureReason=None)} if _POLLS else {"CreateAccountStatus": status}
    result = _original_create(self, **kwargs)
    self.accounts[-1]._infra_polls_left = _POLLS
    return _status(self.accounts[-1])


OrganizationsBackend.create_account = _create_account

_original_describe = OrganizationsBackend.describe_create_account_status


def _describe_create_account_status(self, **kwargs):
    request_id = kwargs["CreateAccountRequestId"]
    if request_id in _FAILED:
        return {"CreateAccountStatus": _FAILED[request_id]}
    account = self.get_account_by_attr("create_account_status_id", request_id)
    status = account.create_account_status
    if getattr(account, "_infra_polls_left", 0) > 0:
        account._infra_polls_left -= 1
    return status


OrganizationsBackend.describe_create_account_status = _describe_create_account_status

_original_describe_account = FakeAccount.describe


def _describe_account(self):
    # Organizations as it answers since 2026-09-09: the lifecycle is in State only (see the docstring).
    described = dict(_original_describe_account(self))
    described.pop("Status", None)
    return described


FakeAccount.describe = _describe_account


class _ConstraintViolation(JsonRESTError):
    """ConstraintViolationException with its Reason, as AWS sends it (moto's carries no Reason)."""

    code = 400

    def __init__(self, reason, message):
        super().__init__("ConstraintViolationException", message)
        self.description = json.dumps({"__type": "ConstraintViolationException", "message": message, "Reason": reason})


_CLOSED_AT = {}
_original_close_account = OrganizationsBackend.close_account


def _close_quota(backend):
    configured = os.environ.get("INFRA_MOTO_CLOSE_ACCOUNT_QUOTA")
    if configured:
        return int(configured)
    members = len(backend.accounts)
    return min(max(250, members * 20 // 100), 1000)


def _close_account(self, **kwargs):
    now = time.time()
    recent = [at for at in _CLOSED_AT.get(id(self), []) if now - at < 30 * 24 * 3600]
    known = any(account.id == kwargs["AccountId"] for account in self.accounts)
    if self.org is not None and known and len(recent) >= _close_quota(self):
        raise _ConstraintViolation(
            "CLOSE_ACCOUNT_QUOTA_EXCEEDED",
            "You have exceeded close account quota for the past 30 days.",
        )
    _original_close_account(self, **kwargs)
    _CLOSED_AT[id(self)] = recent + [now]


OrganizationsBackend.close_account = _close_account

if __name__ == "__main__":
    launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_server.py")
    sys.argv[0] = launcher
    runpy.run_path(launcher, run_name="__main__")
