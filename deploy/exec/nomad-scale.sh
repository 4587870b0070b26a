#!/bin/sh
# luascale exec provider → Nomad. scale_command: ["deploy/exec/nomad-scale.sh", "web", "app"]
# Arguments: JOB GROUP COUNT (luascale appends COUNT). Nomad chooses which allocation to stop.
# Needs NOMAD_ADDR (and NOMAD_TOKEN with ACLs) in the environment.
set -eu
job="$1"; group="$2"; count="$3"
exec nomad job scale -detach "$job" "$group" "$count"
