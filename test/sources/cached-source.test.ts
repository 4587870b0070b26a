/** The polling shell under every metric source, on its own: it runs the MetricSource contract. */
import { cachedSource } from '../../src/sources/cached-source.js';
import { metricSourceContract } from './metric-source-contract.js';

metricSourceContract('cached (bare fetch)', async ({ name, intervalMs }) => {
  let value: number | undefined = 0;
  let calls = 0;
  return {
    source: cachedSource({
      name,
      intervalMs,
      async fetch() {
        calls++;
        if (value === undefined) throw new Error('backend down');
        return value;
      },
    }),
    answer: (v) => void (value = v),
    fail: () => void (value = undefined),
    fetches: () => calls,
    cleanup: async () => {},
  };
});
