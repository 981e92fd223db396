"""Starts moto's server for the integration tests, with one emulator bug fixed.

moto's bucket-policy evaluator (moto/iam/access_control.py, IAMPolicyStatement) passes no
request context to conditions and treats operators it does not implement (Bool, ArnLike, ...)
as met. Our buckets carry the standard TLS-only Deny (Bool aws:SecureTransport=false), so moto
applies it to every request, TLS or not, and refuses every object read and write: terraform's
state, flow logs, everything. It also answers DENIED for an Allow whose condition is not met.
In AWS a statement applies only when its condition holds; this launcher makes moto skip a
conditioned statement when it has no value for the condition's keys, and changes nothing else.

It also loads the AWS managed IAM policies, which moto leaves out by default, and marks
parameters set on a DB parameter group with Source "user", as AWS does.

Usage: python3 moto_server.py [moto_server arguments]
"""
import os
import sys

# Roles attach AWS managed policies (AmazonSSMManagedInstanceCore, AmazonEKSClusterPolicy...);
# moto only knows them when asked to load them.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.iam import access_control
from moto.iam.access_control import IAMPolicyStatement, PermissionResult

_original = IAMPolicyStatement.is_action_permitted


def _condition_aware(self, action, resource="*", principal=None, incoming_condition_values=None):
    conditions = self._statement.get("Condition") or {}
    keys = {key for operator in conditions.values() for key in operator}
    known = incoming_condition_values or {}
    if conditions and not keys.issubset(known):
        return PermissionResult.NEUTRAL
    return _original(self, action, resource, principal, incoming_condition_values)


IAMPolicyStatement.is_action_permitted = _condition_aware
assert access_control.IAMPolicyStatement.is_action_permitted is _condition_aware

# DescribeDBParameters: AWS marks parameters set through ModifyDBParameterGroup with
# Source "user"; moto stores them without a Source, so terraform never sees them as set
# and plans to add them on every run.
from moto.rds.models import DBParameterGroup  # noqa: E402

_original_update = DBParameterGroup.update_parameters


def _update_with_source(self, new_parameters):
    _original_update(self, [{**parameter, "Source": "user"} for parameter in new_parameters])


DBParameterGroup.update_parameters = _update_with_source

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
