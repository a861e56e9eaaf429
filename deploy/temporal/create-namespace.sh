#!/bin/sh
# Waits for the Temporal frontend to be healthy and creates omnichat's
# namespace if it is missing: run by the temporal-namespace service of
# docker-compose.yml from temporalio/admin-tools. `omnichat migrate` then adds
# its search attributes to that namespace.
set -eu

addr=${TEMPORAL_ADDRESS:-temporal:7233}
ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-720h}
attempts=${ATTEMPTS:-90}

retry() {
  i=1
  until "$@" >/dev/null 2>&1; do
    if [ "$i" -ge "$attempts" ]; then
      echo "temporal-namespace: gave up after $attempts tries: $*" >&2
      "$@" # once more, showing the error
      return 1
    fi
    i=$((i + 1))
    sleep 2
  done
}

echo "temporal-namespace: waiting for $addr"
retry temporal operator cluster health --address "$addr"

if temporal operator namespace describe --namespace "$ns" --address "$addr" >/dev/null 2>&1; then
  echo "temporal-namespace: namespace $ns exists"
else
  echo "temporal-namespace: creating namespace $ns (retention $retention)"
  temporal operator namespace create --namespace "$ns" --retention "$retention" --address "$addr" ||
    temporal operator namespace describe --namespace "$ns" --address "$addr" >/dev/null
fi

# A new namespace reaches the frontend's namespace cache a few seconds later;
# wait for it so `omnichat migrate` does not see "namespace not found".
retry temporal operator search-attribute list --namespace "$ns" --address "$addr"
echo "temporal-namespace: namespace $ns ready"
