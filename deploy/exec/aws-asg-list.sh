#!/bin/sh
# luascale exec provider → an AWS Auto Scaling group. list_command: ["deploy/exec/aws-asg-list.sh", "web-asg", "8080"]
# Arguments: ASG_NAME PORT. Prints the group's instances with their private IPs; InService means ready.
set -eu
asg="$1"; port="$2"
ids=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$asg" \
  --query 'AutoScalingGroups[0].Instances[?LifecycleState==`InService` || LifecycleState==`Pending`].InstanceId' --output text)
if [ -z "$ids" ] || [ "$ids" = "None" ]; then echo '[]'; exit 0; fi
# shellcheck disable=SC2086
aws ec2 describe-instances --instance-ids $ids --output json |
  jq -c --arg p "$port" --arg asg "$asg" '[.Reservations[].Instances[] | select(.PrivateIpAddress != null) |
    {id: .InstanceId, url: "http://\(.PrivateIpAddress):\($p)", ready: (.State.Name == "running")}]'
