#!/usr/bin/env bash
# Prints the root of a terraform filesystem mirror holding hashicorp/aws, for machines with no
# registry access; prints nothing when there is none (terraform then uses the registry).
# Usage: export INFRA_TF_PLUGIN_MIRROR=$(scripts/provider-mirror.sh)
set -euo pipefail
roots=("$@")
[ ${#roots[@]} -gt 0 ] || roots=(/opt /usr/local/share /usr/share "$HOME/.terraform.d")
binary=$(find "${roots[@]}" -type f -name 'terraform-provider-aws*' -print -quit 2>/dev/null || true)
[ -n "$binary" ] || exit 0
# <root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_...
echo "${binary%/registry.terraform.io/hashicorp/aws/*}"
