"""Starts moto's server for the integration tests, with one emulator bug fixed.

moto's bucket-policy evaluator (moto/iam/access_control.py, IAMPolicyStatement) passes no
request context to conditions and treats operators it does not implement (Bool, ArnLike, ...)
as met. Our buckets carry the standard TLS-only Deny (Bool aws:SecureTransport=false), so moto
applies it to every request, TLS or not, and refuses every object read and write: terraform's
state, flow logs, everything. It also answers DENIED for an Allow whose condition is not met.
In AWS a statement applies only when its condition holds; this launcher makes moto skip a
conditioned statement when it has no value for the condition's keys, and changes nothing else.

It also loads the AWS managed IAM policies, which moto leaves out by default, and marks
parameters set on a DB parameter group with Source "user", and keeps a launch template's own
tags out of its launch data and gives instances launched from a template its metadata options,
as AWS does.

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

# CreateLaunchTemplate: the template's own tags (TagSpecifications of type "launch-template")
# are copied into the launch template data, where AWS never puts them, so terraform sees a
# tag specification it did not ask for and plans an update on every run.
from moto.ec2.models.launch_templates import LaunchTemplateVersion  # noqa: E402

_original_version_init = LaunchTemplateVersion.__init__


def _version_without_own_tags(self, template, number, data, description):
    specs = data.get("TagSpecifications")
    if specs:
        data = {**data, "TagSpecifications": [spec for spec in specs if spec.get("ResourceType") != "launch-template"]}
    _original_version_init(self, template, number, data, description)


LaunchTemplateVersion.__init__ = _version_without_own_tags

# Instances launched from a launch template (by an Auto Scaling group) take the template's
# MetadataOptions in AWS; moto drops them and reports IMDSv1 allowed.
from moto.ec2.models.instances import Instance, MetadataOptions  # noqa: E402

_original_instance_init = Instance.__init__


def _instance_with_template_metadata(self, ec2_backend, image_id, user_data, security_groups, **kwargs):
    _original_instance_init(self, ec2_backend, image_id, user_data, security_groups, **kwargs)
    template = kwargs.get("launch_template")
    if template and not kwargs.get("metadata_options"):
        options = ec2_backend._get_template_from_args(template).data.get("MetadataOptions")
        if options:
            self.metadata_options = MetadataOptions(options)


Instance.__init__ = _instance_with_template_metadata

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
