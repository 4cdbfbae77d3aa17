#!/usr/bin/env bash
# Builds the binaries of the local test control plane (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok) from the pinned
# tool modules under test/cluster/tools, into a cache directory outside the
# repository keyed by the versions. Also copies the kwok manifests the cluster
# needs (stages, CRDs, metrics) next to the binaries.
#
# Does nothing when every file is already there. Prints the bin directory on
# stdout as its last line; progress goes to stderr.
#
# Environment:
#   VIGIL_CACHE    cache root (default $HOME/.cache/vigil)
#   VIGIL_K8S_BIN  if set, build into this directory instead
#   BUILD_NICE     niceness for the compiler (default 10)
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/tools"
cache_root="${VIGIL_CACHE:-$HOME/.cache/vigil}"
base="$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
bin="${VIGIL_K8S_BIN:-$base/bin}"
# Manifests live beside the bin directory.
share="$(dirname "$bin")/share"

export GOWORK=off
nice_cmd=(nice -n "${BUILD_NICE:-10}")

binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)
manifests=(
  stages.yaml
  crds/kwok.x-k8s.io_logs.yaml
  crds/kwok.x-k8s.io_clusterlogs.yaml
  crds/kwok.x-k8s.io_metrics.yaml
  crds/kwok.x-k8s.io_resourceusages.yaml
  crds/kwok.x-k8s.io_clusterresourceusages.yaml
  metrics-resource.yaml
  usage-from-annotation.yaml
)

complete() {
  local f
  for f in "${binaries[@]}"; do [[ -x "$bin/$f" ]] || return 1; done
  for f in "${manifests[@]}"; do [[ -s "$share/$f" ]] || return 1; done
  return 0
}

if complete; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin" "$share/crds"

# One build at a time per cache directory.
exec 9>"$(dirname "$bin")/.build.lock"
if command -v flock >/dev/null; then
  flock 9
fi
if complete; then
  echo "$bin"
  exit 0
fi

log() { echo "build.sh: $*" >&2; }

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
k8s_minor="${K8S_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION"
  kube_ldflags+=" -X $pkg.gitMajor=1"
  kube_ldflags+=" -X $pkg.gitMinor=$k8s_minor"
  kube_ldflags+=" -X $pkg.gitCommit=unknown"
  kube_ldflags+=" -X $pkg.gitTreeState=clean"
  kube_ldflags+=" -X $pkg.buildDate=$build_date"
done

tmp="$(mktemp -d "$(dirname "$bin")/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# build MODULE_DIR LDFLAGS NAME=PKG... : builds the missing binaries of one
# module in a single go build (shared compilation), then moves them into $bin.
build() {
  local dir="$1" ldflags="$2"
  shift 2
  local names=() pkgs=() pair
  for pair in "$@"; do
    [[ -x "$bin/${pair%%=*}" ]] && continue
    names+=("${pair%%=*}")
    pkgs+=("${pair#*=}")
  done
  [[ ${#pkgs[@]} -gt 0 ]] || return 0
  log "building ${names[*]} ($(date -u +%H:%M:%S))"
  local i out
  if [[ ${#pkgs[@]} -eq 1 ]]; then
    (cd "$dir" && "${nice_cmd[@]}" go build -trimpath -ldflags "$ldflags" -o "$tmp/${names[0]}" "${pkgs[0]}")
  else
    # go build -o DIR/ names each binary after its package's last path element.
    (cd "$dir" && "${nice_cmd[@]}" go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
  fi
  for i in "${!names[@]}"; do
    out="$tmp/${names[$i]}"
    [[ -x "$out" ]] || out="$tmp/$(basename "${pkgs[$i]}")"
    mv -f "$out" "$bin/${names[$i]}"
  done
}

start=$SECONDS
build "$tools/etcd" "-s -w" etcd=go.etcd.io/etcd/server/v3
build "$tools/kwok" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" kwok=sigs.k8s.io/kwok/cmd/kwok
build "$tools/kube" "$kube_ldflags" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
  kubectl=k8s.io/kubernetes/cmd/kubectl

# kwok manifests, from the module cache.
kwok_dir="$(cd "$tools/kwok" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "$kwok_dir" ]] || { log "cannot locate sigs.k8s.io/kwok@$KWOK_VERSION in the module cache"; exit 1; }
k="$kwok_dir/kustomize"
stages=(
  stage/node/fast/node-initialize.yaml
  stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  stage/pod/fast/pod-ready.yaml
  stage/pod/fast/pod-complete.yaml
  stage/pod/fast/pod-delete.yaml
)
{
  first=1
  for s in "${stages[@]}"; do
    [[ $first -eq 1 ]] || echo "---"
    first=0
    # Drop leading document separators so the concatenation stays valid.
    sed '1{/^---[[:space:]]*$/d}' "$k/$s"
  done
} >"$tmp/stages.yaml"
mv -f "$tmp/stages.yaml" "$share/stages.yaml"
for c in logs clusterlogs metrics resourceusages clusterresourceusages; do
  install -m 0644 "$k/crd/bases/kwok.x-k8s.io_$c.yaml" "$share/crds/"
done
install -m 0644 "$k/metrics/resource/metrics-resource.yaml" "$share/"
install -m 0644 "$k/metrics/usage/usage-from-annotation.yaml" "$share/"

complete || { log "build finished but files are missing in $bin / $share"; exit 1; }
log "done in $((SECONDS - start))s"
echo "$bin"
