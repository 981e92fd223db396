#!/usr/bin/env bash
# Pins the Dockerfile's base images (its `ARG NODE_IMAGE=` and `ARG RUNTIME_IMAGE=` lines) to the
# digest their tag points at now: `node:20.20.0-bookworm` becomes `node:20.20.0-bookworm@sha256:...`
# (an ARG already pinned is resolved again from its tag).
# The tag stays for the reader; the digest is what the builder uses. Run it on a machine that
# reaches the registries (docker.io, gcr.io), review the diff, rebuild, and commit both.
#
#   scripts/pin-base-images.sh [Dockerfile]           resolve and rewrite (crane, else docker buildx)
#   scripts/pin-base-images.sh --check [Dockerfile]   exit 1 if an image is not pinned (no network)
#
# The digest is the one of the tag's manifest list (index), so every platform still resolves.
set -euo pipefail

check=false
if [[ "${1:-}" == "--check" ]]; then
  check=true
  shift
fi
dockerfile="${1:-$(dirname "$0")/../Dockerfile}"
[[ -f "$dockerfile" ]] || { echo "Error: $dockerfile does not exist: pass the Dockerfile's path" >&2; exit 2; }

ARGS=(NODE_IMAGE RUNTIME_IMAGE)
DIGEST_RE='^sha256:[0-9a-f]{64}$'

image_of() {
  sed -n "s/^ARG $1=\(.*\)$/\1/p" "$dockerfile" | head -n 1
}

if $check; then
  unpinned=0
  for arg in "${ARGS[@]}"; do
    image="$(image_of "$arg")"
    [[ -n "$image" ]] || { echo "Error: $dockerfile has no ARG $arg=<image>" >&2; exit 2; }
    if [[ "$image" =~ @sha256:[0-9a-f]{64}$ ]]; then
      echo "$arg=$image: pinned"
    else
      echo "$arg=$image: NOT pinned (run scripts/pin-base-images.sh where the registry is reachable)"
      unpinned=1
    fi
  done
  exit "$unpinned"
fi

resolve() {
  local ref="$1" out
  if command -v crane >/dev/null 2>&1; then
    crane digest "$ref"
  elif command -v docker >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    out="$(docker buildx imagetools inspect "$ref" --format '{{json .Manifest}}')"
    grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' <<<"$out" | head -n 1 | grep -o 'sha256:[0-9a-f]\{64\}'
  else
    echo "Error: neither crane nor docker buildx is installed: install crane (https://github.com/google/go-containerregistry) or Docker with buildx, then run this again" >&2
    return 3
  fi
}

# Resolve everything first; the Dockerfile is rewritten only when every digest is known.
declare -A pinned
for arg in "${ARGS[@]}"; do
  image="$(image_of "$arg")"
  [[ -n "$image" ]] || { echo "Error: $dockerfile has no ARG $arg=<image>" >&2; exit 2; }
  tag="${image%%@*}"
  digest="$(resolve "$tag")" || { status=$?; [[ $status == 3 ]] && exit 3; echo "Error: could not resolve $tag: check the tag and the registry login" >&2; exit 1; }
  digest="$(tr -d '[:space:]' <<<"$digest")"
  [[ "$digest" =~ $DIGEST_RE ]] || { echo "Error: the registry answered \"$digest\" for $tag, not a sha256 digest" >&2; exit 1; }
  pinned[$arg]="$tag@$digest"
done

temp="$(mktemp "${dockerfile}.XXXXXX")"
trap 'rm -f "$temp"' EXIT
cp "$dockerfile" "$temp"
for arg in "${ARGS[@]}"; do
  sed -i "s|^ARG $arg=.*$|ARG $arg=${pinned[$arg]}|" "$temp"
  echo "$arg=${pinned[$arg]}"
done
chmod --reference="$dockerfile" "$temp" 2>/dev/null || true
mv "$temp" "$dockerfile"
trap - EXIT
