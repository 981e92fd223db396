"""Starts moto's server for the integration tests, with the emulator gaps below filled.

Every patch fills a gap where moto does not do what AWS does; none switches a check off.

1. Bucket-policy conditions are evaluated from the real request. moto's evaluator
   (moto/iam/access_control.py, IAMPolicyStatement) gets no request context from S3
   (FakeBucket.get_permission passes none) and treats every operator it does not implement
   (Bool, ArnLike, StringLike, ...) as met, so our TLS-only Deny (Bool aws:SecureTransport=false)
   applied to every request, TLS or not. This launcher records each request (scheme and
   headers) and gives S3's policy check the condition keys our policies use:
     aws:SecureTransport                            true over TLS, false over plain HTTP
     s3:x-amz-server-side-encryption                the request header, when sent
     s3:x-amz-server-side-encryption-aws-kms-key-id the request header, when sent
     s3:x-amz-acl                                   the request header, when sent
     aws:SourceArn, aws:SourceAccount               set only on requests a service makes on a
                                                    principal's behalf, which never reach moto:
                                                    absent, as for any direct call
   with AWS's operators (Bool, String*, Arn*, Null, ...IfExists; a key absent from the request
   fails a positive operator and satisfies a negated one). A statement whose condition names any
   other key, or an operator not listed here, is left exactly as moto evaluates it.
   moto checks bucket policies on object requests only (GET/PUT/DELETE/HEAD of a key, and
   DeleteObjects), not on bucket-level calls; that is moto's scope and is left as it is.
2. A second, plain-HTTP listener (--plain-port) on the same backends, so a test can send the
   request the TLS-only Deny exists for.
3. The AWS managed IAM policies are loaded (moto leaves them out by default); roles attach them.
4. DB parameters set through ModifyDBParameterGroup carry Source "user", as in AWS; moto stores
   none and terraform plans to set them again on every run.
5. A launch template's own tags (TagSpecifications of type "launch-template") stay out of its
   launch data, as in AWS; moto copies them in and terraform plans an update on every run.
6. Instances launched from a launch template (by an Auto Scaling group) take the template's
   MetadataOptions, as in AWS; moto drops them and reports IMDSv1 allowed.

Left out of the emulated estate (through the estate's omitLayers, in the tests that provision):
- cloudtrail: moto's StartLogging fails on the trail ARN and the provider retries for minutes,
  so aws_cloudtrail never finishes applying;
- eks: moto drops the cluster's accessConfig and the node group's updateConfig, so every plan
  replaces the cluster (and moto lacks EKS access entries).
Their configuration is covered by the synthesized-JSON tests and terraform validate.

Usage: python3 moto_server.py -H HOST -p TLS_PORT -c CERT -k KEY [--plain-port PORT]
"""
import os
import signal
import sys

# Roles attach AWS managed policies (AmazonSSMManagedInstanceCore, AmazonEKSClusterPolicy...);
# moto only knows them when asked to load them.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

import argparse
import fnmatch
import threading

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

_request = threading.local()

# The condition keys this launcher answers from the request; see the docstring.
_REQUEST_KEYS = {
    "aws:SecureTransport",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-acl",
    "aws:SourceArn",
    "aws:SourceAccount",
}


def _request_context(environ):
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    values = {"aws:SecureTransport": "true" if environ.get("wsgi.url_scheme") == "https" else "false"}
    for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-acl"):
        if header in headers:
            values[f"s3:{header}"] = headers[header]
    return values


def _string_like(expected, actual):
    return fnmatch.fnmatchcase(actual, expected.replace("[", "[[]"))


_MATCHERS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringLike": _string_like,
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": _string_like,
    "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _operator_known(operator):
    base = operator[: -len("IfExists")] if operator.endswith("IfExists") else operator
    return base == "Null" or base in _MATCHERS or base in _NEGATED


def _condition_holds(operator, key, expected, context):
    """One operator on one key, as AWS evaluates it (single-valued keys)."""
    expected_values = expected if isinstance(expected, list) else [expected]
    present = key in context
    if operator == "Null":
        return any(str(value).lower() == ("false" if present else "true") for value in expected_values)
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if not present:
        # A missing key: ...IfExists and negated operators hold, positive operators do not.
        return if_exists or base in _NEGATED
    actual = context[key]
    if base in _NEGATED:
        return not any(_MATCHERS[_NEGATED[base]](str(value), actual) for value in expected_values)
    return any(_MATCHERS[base](str(value), actual) for value in expected_values)


_original_statement = IAMPolicyStatement.is_action_permitted


def _with_request_conditions(self, action, resource="*", principal=None, incoming_condition_values=None):
    conditions = self._statement.get("Condition") or {}
    context = getattr(_request, "values", None)
    evaluable = (
        conditions
        and context is not None
        and all(_operator_known(operator) and set(keys) <= _REQUEST_KEYS for operator, keys in conditions.items())
    )
    if not evaluable:
        return _original_statement(self, action, resource, principal, incoming_condition_values)
    holds = all(
        _condition_holds(operator, key, expected, context)
        for operator, keys in conditions.items()
        for key, expected in keys.items()
    )
    if not holds:
        return PermissionResult.NEUTRAL
    unconditioned = IAMPolicyStatement({k: v for k, v in self._statement.items() if k != "Condition"})
    return _original_statement(unconditioned, action, resource, principal, incoming_condition_values)


IAMPolicyStatement.is_action_permitted = _with_request_conditions


class _RecordRequest:
    """WSGI middleware: remembers the request being served by this thread for the policy check."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        _request.values = _request_context(environ)
        try:
            return self.app(environ, start_response)
        finally:
            _request.values = None


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

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("-c", "--ssl-cert", required=True)
    parser.add_argument("-k", "--ssl-key", required=True)
    parser.add_argument("--plain-port", type=int)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = _RecordRequest(DomainDispatcherApplication(create_backend_app))
    tls = make_server(args.host, args.port, app, threaded=True, ssl_context=(args.ssl_cert, args.ssl_key))
    if args.plain_port:
        plain = make_server(args.host, args.plain_port, app, threaded=True)
        threading.Thread(target=plain.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        tls.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
