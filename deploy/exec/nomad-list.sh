#!/bin/sh
# luascale exec provider → Nomad. list_command: ["deploy/exec/nomad-list.sh", "web", "http"]
# Arguments: SERVICE (the Nomad service name the group registers) and the URL scheme.
# Prints [{"id", "url", "ready"}] from Nomad's native service discovery: only passing instances
# are registered, so every listed target is ready. Needs curl and jq.
set -eu
svc="$1"; scheme="${2:-http}"
curl -fsS ${NOMAD_TOKEN:+-H "X-Nomad-Token: $NOMAD_TOKEN"} "${NOMAD_ADDR:-http://127.0.0.1:4646}/v1/service/$svc" |
  jq -c --arg s "$scheme" '[.[] | {id: .AllocID, url: "\($s)://\(.Address):\(.Port)", ready: true}]'
