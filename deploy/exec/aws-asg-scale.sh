#!/bin/sh
# luascale exec provider → an AWS Auto Scaling group. scale_command: ["deploy/exec/aws-asg-scale.sh", "web-asg"]
# Arguments: ASG_NAME COUNT (luascale appends COUNT). The ASG's termination policy picks the instance;
# on a scale-down this script terminates the one luascale drained instead (LUASCALE_STOP_TARGET).
set -eu
asg="$1"; count="$2"
if [ -n "${LUASCALE_STOP_TARGET:-}" ]; then
  current=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$asg" \
    --query 'AutoScalingGroups[0].DesiredCapacity' --output text)
  if [ "$count" -lt "$current" ]; then
    exec aws autoscaling terminate-instance-in-auto-scaling-group \
      --instance-id "$LUASCALE_STOP_TARGET" --should-decrement-desired-capacity
  fi
fi
exec aws autoscaling set-desired-capacity --auto-scaling-group-name "$asg" --desired-capacity "$count" --honor-cooldown
