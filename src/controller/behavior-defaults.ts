/**
 * Default scaling behaviour: the Kubernetes HPA autoscaling/v2 defaults plus Knative-style panic.
 *
 * Sources:
 * - kubernetes/kubernetes pkg/apis/autoscaling/v2/defaults.go (`GenerateHPAScaleUpRules`,
 *   `GenerateHPAScaleDownRules`): scaleUp has no stabilization and allows the larger of
 *   +4 pods or +100 % per 15 s; scaleDown allows −100 % per 15 s, selectPolicy Max.
 * - kube-controller-manager `--horizontal-pod-autoscaler-downscale-stabilization` = 5 min and
 *   `--horizontal-pod-autoscaler-tolerance` = 0.1 (pkg/controller/podautoscaler/config/v1alpha1/defaults.go),
 *   https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#default-behavior
 * - Knative Serving config/core/configmaps/autoscaler.yaml: `panic-threshold-percentage` 200 %
 *   and a 60 s `stable-window`, which is how long panic is held after the last trigger.
 * - Cooldown is AWS simple scaling's; off by default because AWS recommends against it
 *   (https://docs.aws.amazon.com/autoscaling/ec2/userguide/Cooldown.html).
 * The config schema (src/config/behavior-schema.ts) carries the same numbers as YAML defaults.
 */
import type { Behavior } from './decision.js';

/** HPA v2 default behaviour with tolerance 0.1, no cooldown and panic at 2× for 60 s. */
export function defaultBehavior(): Behavior {
  return {
    scaleUp: {
      stabilizationMs: 0,
      rules: [
        { type: 'pods', value: 4, periodMs: 15_000 },
        { type: 'percent', value: 100, periodMs: 15_000 },
      ],
      select: 'max',
    },
    scaleDown: {
      stabilizationMs: 300_000,
      rules: [{ type: 'percent', value: 100, periodMs: 15_000 }],
      select: 'max',
    },
    tolerance: 0.1,
    cooldownMs: 0,
    panic: { enabled: true, threshold: 2.0, holdMs: 60_000 },
  };
}
