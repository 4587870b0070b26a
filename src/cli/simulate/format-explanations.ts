import type { DecisionExplanation } from '../../simulator/decision-tally.js';

/** Plain words for the decision core's adjustments (reason codes of DecisionStep). */
const ADJUSTMENT_WORDS: Record<string, string> = {
  ScaleDownStabilized: 'scale-downs held by the stabilization window',
  ScaleUpStabilized: 'scale-ups held by the stabilization window',
  ScaleDownLimited: 'scale-downs cut by the rate limits',
  ScaleUpLimited: 'scale-ups cut by the rate limits',
  WithinTolerance: 'changes ignored within the tolerance band',
  Cooldown: 'changes held by the cooldown',
  PanicHold: 'scale-downs held in panic mode',
  PanicScaleUp: 'scale-ups in panic mode',
  ClampedToMax: 'answers clamped to max',
  ClampedToMin: 'answers clamped to min',
  AwaitingStartup: 'changes held while instances start',
};

/** Below the table (not in --json): per policy, what the decisions add up to and why. */
export function formatExplanations(runs: Array<[string, DecisionExplanation]>): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const out: string[] = [];
  for (const [label, e] of runs) {
    out.push('', `${label}:`);
    out.push(
      `  decisions by reason: ${Object.entries(e.reasons)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}`,
    );
    const adj = Object.entries(e.adjustments);
    out.push(
      adj.length === 0
        ? '  the decision core changed no answer of the policy'
        : `  the decision core: ${adj.map(([k, v]) => `${n(v)} ${ADJUSTMENT_WORDS[k] ?? k}`).join(', ')}`,
    );
    const h = e.held_scale_downs;
    if (h.scaled_in + h.abandoned > 0)
      out.push(
        `  scale-downs the window held: ${n(h.scaled_in)} ended in a scale-down, ${n(h.abandoned)} were abandoned (the policy answered higher again before the window passed)`,
      );
    if (h.abandoned >= 5 && h.scaled_in === 0)
      out.push(
        '  note: this policy asked to scale in but never did: the window keeps its highest answer, so answering fewer now and then between holds never scales in; answer the lower count on every tick it applies (docs/policies.md, "Common mistakes")',
      );
    if (e.first_error) {
      const f = e.first_error;
      out.push(
        `  policy errors: ${n(e.policy_errors)} (${n(e.distinct_errors)} distinct); first at second ${n(f.first_second)}: ${f.error} (${f.code})`,
      );
      for (const x of e.errors)
        out.push(`    ${n(x.count)}× ${x.error} (${x.code}, first at second ${n(x.first_second)})`);
    }
  }
  return out.join('\n') + '\n';
}
