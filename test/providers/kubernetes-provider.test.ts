import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KubernetesProvider,
  POD_DELETION_COST,
  type KubernetesProviderOptions,
} from '../../src/providers/kubernetes-provider.js';
import { endpointsOf } from '../../src/providers/kubernetes-endpoints.js';
import { parseQuantity } from '../../src/providers/kubernetes-pod-metrics.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { nextEvent, providerContract } from './provider-contract.js';
import { FakeKubeApiServer, type FakeKubeApiServerOptions } from './fixtures/fake-kube-apiserver.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-k8s-'));
after(() => rmSync(root, { recursive: true, force: true }));

const TOKEN = 'sa-token-123';
let n = 0;

/** A kubeconfig file pointing at the fake, with a bearer token, as `kubectl config view` would write it. */
function kubeconfigFor(url: string, namespace = 'shop', token = TOKEN): string {
  const file = join(root, `kubeconfig-${n++}.yaml`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${url}`,
      // client-node refuses plain http unless TLS verification is explicitly off; the fake speaks http.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: luascale',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: luascale',
      `    namespace: ${namespace}`,
      'current-context: fake',
      '',
    ].join('\n'),
  );
  return file;
}

interface Setup {
  fake: FakeKubeApiServer;
  provider: KubernetesProvider;
  errors: unknown[];
  cleanup(): Promise<void>;
}

async function setup(
  fakeOptions: Partial<FakeKubeApiServerOptions> = {},
  options: Partial<KubernetesProviderOptions> = {},
): Promise<Setup> {
  const fake = new FakeKubeApiServer({
    namespace: 'shop',
    token: TOKEN,
    metricsApi: true,
    workloads: [
      { kind: 'Deployment', name: 'web', service: 'web', replicas: 0 },
      { kind: 'StatefulSet', name: 'db', service: 'db', replicas: 0, port: 5432, portName: 'pg' },
    ],
    ...fakeOptions,
  });
  const url = await fake.listen();
  const errors: unknown[] = [];
  const provider = new KubernetesProvider({
    service: 'web',
    name: 'web',
    kubeconfig: kubeconfigFor(url),
    rewatchDelayMs: 20,
    stopTimeoutMs: 5000,
    onError: (err) => errors.push(err),
    ...options,
  });
  await provider.whenSynced();
  return {
    fake,
    provider,
    errors,
    async cleanup() {
      await provider.close();
      await fake.close();
    },
  };
}

async function launchReady(p: KubernetesProvider) {
  const ready = nextEvent(p, 'ready', () => true, 5000);
  const launched = await p.launch();
  const [instance] = await ready;
  assert.equal(instance.id, launched.id);
  return instance;
}

providerContract(
  'kubernetes (fake API server)',
  async () => {
    const s = await setup();
    return { provider: s.provider, cleanup: s.cleanup };
  },
  { eventTimeoutMs: 5000 },
);

describe('KubernetesProvider against the fake API server', () => {
  it('launch() raises spec.replicas through PUT .../deployments/web/scale with the read resourceVersion', async () => {
    const s = await setup();
    try {
      const i = await launchReady(s.provider);
      assert.equal(s.fake.replicas('Deployment', 'web'), 1);
      assert.match(i.url, /^http:\/\/10\.244\.0\.\d+:8080$/);
      assert.equal(s.provider.namespace, 'shop', 'namespace from the kubeconfig context');
      const puts = s.fake.requests.filter((r) => r.method === 'PUT');
      assert.equal(puts.length, 1);
      assert.equal(puts[0]!.path, '/apis/apps/v1/namespaces/shop/deployments/web/scale');
      const body = puts[0]!.body as {
        kind: string;
        apiVersion: string;
        metadata: { resourceVersion: string };
        spec: { replicas: number };
      };
      assert.equal(body.kind, 'Scale');
      assert.equal(body.apiVersion, 'autoscaling/v1');
      assert.deepEqual(body.spec, { replicas: 1 });
      assert.ok(body.metadata.resourceVersion, 'the update is conditional on resourceVersion');
      assert.equal(s.provider.podOf(i.id), s.fake.pods('Deployment', 'web')[0]!.name);
    } finally {
      await s.cleanup();
    }
  });

  it('a 409 Conflict from a concurrent writer is retried after re-reading the Scale', async () => {
    const s = await setup();
    try {
      s.fake.interfere(2);
      await launchReady(s.provider);
      assert.equal(s.fake.replicas('Deployment', 'web'), 1);
      const puts = s.fake.requests.filter((r) => r.method === 'PUT');
      const gets = s.fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/scale'));
      assert.equal(puts.length, 3, 'two conflicts, then success');
      assert.equal(gets.length, 3, 'one fresh read per attempt');
    } finally {
      await s.cleanup();
    }
  });

  it('concurrent launches each add one replica (conflicting writes are retried) and each id becomes ready', async () => {
    const s = await setup();
    try {
      const readyIds = new Set<string>();
      let allReady!: () => void;
      const done = new Promise<void>((r) => (allReady = r));
      s.provider.on('ready', (i) => {
        readyIds.add(i.id);
        if (readyIds.size === 4) allReady();
      });
      const launched = await Promise.all([1, 2, 3, 4].map(() => s.provider.launch()));
      await done;
      assert.equal(s.fake.replicas('Deployment', 'web'), 4);
      assert.deepEqual([...readyIds].sort(), launched.map((i) => i.id).sort());
      const pods = new Set(launched.map((i) => s.provider.podOf(i.id)));
      assert.equal(pods.size, 4, 'one pod per launch');
    } finally {
      await s.cleanup();
    }
  });

  it('403 Forbidden on the scale subresource rejects with a LuascaleError naming the RBAC verb and resource', async () => {
    const s = await setup();
    try {
      s.fake.forbid('update', 'deployments/scale');
      await assert.rejects(s.provider.launch(), (err) => {
        assert.ok(isLuascaleError(err, 'LS_ERR_PROVIDER_FORBIDDEN'));
        assert.match(err.message, /denied "update" on deployments\/scale in namespace shop/);
        assert.match(err.message, /cannot update resource "deployments\/scale" in API group "apps"/);
        return true;
      });
      assert.deepEqual(s.provider.list(), [], 'the placeholder is withdrawn');
    } finally {
      await s.cleanup();
    }
  });

  it('a wrong token fails the first sync with a 401 message', async () => {
    const fake = new FakeKubeApiServer({
      token: 'right',
      workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 1 }],
    });
    const url = await fake.listen();
    const p = new KubernetesProvider({
      service: 'web',
      name: 'web',
      kubeconfig: kubeconfigFor(url, 'default', 'wrong'),
    });
    try {
      await assert.rejects(
        p.whenSynced(),
        (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_API') && /401/.test(err.message),
      );
    } finally {
      await p.close();
      await fake.close();
    }
  });

  it('existing ready pods are listed as adopted, ready instances at start', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 3 }] });
    try {
      const list = s.provider.list();
      assert.equal(list.length, 3);
      for (const i of list) {
        assert.equal(i.state, 'ready');
        assert.equal(i.adopted, true);
      }
    } finally {
      await s.cleanup();
    }
  });

  it('drain() annotates the pod with pod-deletion-cost and stop() removes exactly that pod', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 3 }] });
    try {
      const victim = s.provider.list()[0]!; // the oldest pod: without the cost, the newest would go
      const pod = s.provider.podOf(victim.id)!;
      const exited = nextEvent(s.provider, 'exited', (i) => i.id === victim.id, 5000);
      await s.provider.stop(victim.id);
      const patch = s.fake.requests.find((r) => r.method === 'PATCH');
      assert.equal(patch?.path, `/api/v1/namespaces/shop/pods/${pod}`);
      assert.deepEqual(patch?.body, { metadata: { annotations: { [POD_DELETION_COST]: '-2147483648' } } });
      assert.equal(s.fake.replicas('Deployment', 'web'), 2);
      const [, exit] = await exited;
      assert.equal(exit.expected, true);
      assert.ok(
        !s.fake.pods('Deployment', 'web').some((p) => p.name === pod && !p.terminating),
        'the drained pod went',
      );
      assert.equal(s.provider.list().length, 2);
    } finally {
      await s.cleanup();
    }
  });

  it('when Kubernetes removes another pod (no patch permission), that one exits and the stopped one serves on', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 2 }] });
    try {
      s.fake.forbid('patch', 'pods');
      const [older, newer] = s.provider.list();
      const exited = nextEvent(s.provider, 'exited', () => true, 5000);
      await s.provider.stop(older!.id);
      const [gone, exit] = await exited;
      assert.equal(gone.id, newer!.id, 'the ReplicaSet controller deleted the newest pod');
      assert.equal(exit.expected, true, 'it was our scale-down');
      assert.deepEqual(
        s.provider.list().map((i) => [i.id, i.state]),
        [[older!.id, 'ready']],
      );
      assert.ok(
        s.errors.some(
          (e) => isLuascaleError(e, 'LS_ERR_PROVIDER_FORBIDDEN') && /"patch" on pods/.test(e.message),
        ),
      );
    } finally {
      await s.cleanup();
    }
  });

  it('an endpoint that loses readiness emits unready (starting, not routed) and ready again when it recovers', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 1 }] });
    try {
      const [i] = s.provider.list();
      const pod = s.provider.podOf(i!.id)!;
      const lost = nextEvent(s.provider, 'unready', (x) => x.id === i!.id, 5000);
      s.fake.setReady(pod, false);
      const [unready] = await lost;
      assert.equal(unready.state, 'starting');
      assert.equal(s.provider.list()[0]?.state, 'starting');
      const again = nextEvent(s.provider, 'ready', (x) => x.id === i!.id, 5000);
      s.fake.setReady(pod, true);
      await again;
      assert.equal(s.provider.list()[0]?.state, 'ready');
    } finally {
      await s.cleanup();
    }
  });

  it('an external scale-down emits an unexpected exit', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 2 }] });
    try {
      const exited = nextEvent(s.provider, 'exited', () => true, 5000);
      s.fake.scaleExternally('Deployment', 'web', 1);
      const [gone, exit] = await exited;
      assert.equal(exit.expected, false);
      assert.equal(gone.state, 'stopped');
      assert.equal(s.provider.list().length, 1);
    } finally {
      await s.cleanup();
    }
  });

  it('re-lists after 410 Gone (compacted resourceVersion) and keeps following changes', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 1 }] });
    try {
      const lists = () =>
        s.fake.requests.filter((r) => r.path.endsWith('/endpointslices') && r.query.watch !== 'true').length;
      assert.equal(lists(), 1);
      s.fake.compact(); // closes the watch; re-watching from the old resourceVersion gets ERROR 410
      const adopted = nextEvent(s.provider, 'ready', (i) => i.adopted === true, 5000);
      await waitFor(() => lists() === 2, s.provider);
      s.fake.scaleExternally('Deployment', 'web', 2);
      await adopted;
      assert.equal(s.provider.list().length, 2);
      const watches = s.fake.requests.filter((r) => r.query.watch === 'true');
      assert.ok(watches.every((w) => w.query.labelSelector === 'kubernetes.io/service-name=web'));
      assert.ok(
        watches.every((w) => w.query.resourceVersion),
        'every watch resumes from a resourceVersion',
      );
    } finally {
      await s.cleanup();
    }
  });

  it('rides out an API server outage: retries with backoff, re-lists, and follows changes made meanwhile', async () => {
    const s = await setup({ workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 1 }] });
    try {
      const port = s.fake.port;
      let failures = 0;
      let noticed!: () => void;
      const twoFailures = new Promise<void>((r) => (noticed = r));
      s.errors.push = (...e: unknown[]) => {
        failures += e.length;
        if (failures >= 2) noticed();
        return failures;
      };
      await s.fake.stop();
      await twoFailures; // the watch and at least one retry were refused
      assert.equal(s.provider.list().length, 1, 'the last known endpoints are kept while the API is down');
      s.fake.scaleExternally('Deployment', 'web', 2); // a change the provider could not see
      s.fake.compact(); // and the restarted apiserver has no history for the old resourceVersion
      const adopted = nextEvent(s.provider, 'ready', (i) => i.adopted === true, 10_000);
      await s.fake.listen(port);
      await adopted;
      assert.equal(s.provider.list().length, 2);
    } finally {
      await s.cleanup();
    }
  });

  it('scales a StatefulSet through statefulsets/scale; Kubernetes removes the highest ordinal', async () => {
    const s = await setup({}, { service: 'db', name: 'db', kind: 'StatefulSet', port: 'pg' });
    try {
      const a = await launchReady(s.provider);
      const b = await launchReady(s.provider);
      assert.match(a.url, /:5432$/);
      assert.equal(s.provider.podOf(a.id), 'db-0');
      assert.equal(s.provider.podOf(b.id), 'db-1');
      assert.ok(
        s.fake.requests.some(
          (r) => r.method === 'PUT' && r.path === '/apis/apps/v1/namespaces/shop/statefulsets/db/scale',
        ),
      );
      await s.provider.stop(b.id);
      assert.equal(s.fake.replicas('StatefulSet', 'db'), 1);
      assert.ok(!s.fake.requests.some((r) => r.method === 'PATCH'), 'no deletion cost for a StatefulSet');
      assert.deepEqual(
        s.provider.list().map((i) => i.id),
        [a.id],
      );
    } finally {
      await s.cleanup();
    }
  });

  it("route: 'service' lists the Service's cluster address, ready once a pod is", async () => {
    const s = await setup({}, { route: 'service' });
    try {
      assert.deepEqual(
        s.provider.list().map((i) => [i.url, i.state]),
        [['http://web.shop.svc:80', 'starting']],
      );
      const ready = nextEvent(s.provider, 'ready', () => true, 5000);
      await s.provider.launch();
      await ready;
      assert.equal(s.provider.list()[0]!.state, 'ready');
      assert.equal(s.fake.replicas('Deployment', 'web'), 1);
    } finally {
      await s.cleanup();
    }
  });
});

describe('KubernetesProvider in-cluster (service-account token, TLS with the cluster CA)', () => {
  it('loadFromCluster() config: HTTPS verified against ca.crt, bearer token from the token file, namespace file', async (t) => {
    const dir = join(root, 'incluster');
    const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(sa, 'ca.crt'),
          '-days',
          '1',
          '-subj',
          '/CN=kube-apiserver',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
    } catch {
      return t.skip('openssl not available to make a test certificate');
    }
    writeFileSync(join(sa, 'token'), TOKEN);
    writeFileSync(join(sa, 'namespace'), 'shop');
    const fake = new FakeKubeApiServer({
      namespace: 'shop',
      token: TOKEN,
      workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 1 }],
      tls: {
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
        cert: readFileSync(join(sa, 'ca.crt'), 'utf8'),
      },
    });
    await fake.listen();
    // What the kubelet puts in every pod's environment.
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = String(fake.port);
    const kc = new k8s.KubeConfig();
    try {
      kc.loadFromCluster(dir);
    } finally {
      for (const [k, v] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    const p = new KubernetesProvider({ service: 'web', name: 'web', kubeConfig: kc });
    try {
      await p.whenSynced();
      assert.equal(p.namespace, 'shop', 'namespace from the service-account namespace file');
      assert.equal(p.list().length, 1);
      await launchReady(p);
      assert.equal(fake.replicas('Deployment', 'web'), 2);
    } finally {
      await p.close();
      await fake.close();
    }
  });
});

describe('endpointsOf', () => {
  it('keys by pod, picks the named port, treats nil ready as ready and terminating as not ready', () => {
    const eps = endpointsOf(
      [
        {
          ports: [
            { name: 'metrics', port: 9090 },
            { name: 'http', port: 8080 },
          ],
          endpoints: [
            { addresses: ['10.0.0.1'], conditions: {}, targetRef: { name: 'a' } },
            {
              addresses: ['10.0.0.2'],
              conditions: { ready: false, terminating: true },
              targetRef: { name: 'b' },
            },
            { addresses: ['fd00::3'], conditions: { ready: true } },
          ],
        },
        { addressType: 'FQDN', ports: [{ port: 1 }], endpoints: [{ addresses: ['x.example'] }] },
      ],
      { port: 'http' },
    );
    assert.deepEqual(
      [...eps.values()],
      [
        { key: 'a', url: 'http://10.0.0.1:8080', ready: true, terminating: false },
        { key: 'b', url: 'http://10.0.0.2:8080', ready: false, terminating: true },
        { key: 'fd00::3', url: 'http://[fd00::3]:8080', ready: true, terminating: false },
      ],
    );
  });
});

/** Waits until `cond()` holds, re-checking on every provider event and fake request (no sleeps). */
async function waitFor(cond: () => boolean, p: KubernetesProvider, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
    void p;
  }
}

describe('KubernetesProvider pod usage from metrics.k8s.io (issue 16 item 13)', () => {
  it('reports each ready pod’s CPU in percent of one core from PodMetrics', async () => {
    const s = await setup({
      workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 2 }],
    });
    try {
      await waitFor(() => s.provider.list().filter((i) => i.state === 'ready').length === 2, s.provider);
      const pods = s.fake.pods('Deployment', 'web');
      s.fake.setUsage(pods[0]!.name, { cpu: '250m', memory: '64Mi' });
      s.fake.setUsage(pods[1]!.name, { cpu: '1500000000n', memory: '32Mi' });
      await s.provider.refreshUsage(10_000);
      const usage = s.provider.usage(10_000);
      const byPod = new Map([...usage].map(([id, u]) => [s.provider.podOf(id), u]));
      assert.deepEqual(byPod.get(pods[0]!.name), { cpu: 25, rssBytes: 64 * 2 ** 20 });
      assert.deepEqual(byPod.get(pods[1]!.name), { cpu: 150, rssBytes: 32 * 2 ** 20 });
      assert.ok(
        s.fake.requests.some((r) => r.path === '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods'),
        'read from the resource metrics API',
      );
      // A sample much older than the poll interval is stale: unknown, not the old figure.
      assert.equal(s.provider.usage(10_000 + 3 * 15_000 + 1).size, 0);
    } finally {
      await s.cleanup();
    }
  });

  it('without the metrics API (no metrics-server) CPU is unknown and the gap is reported once', async () => {
    const s = await setup({
      metricsApi: false,
      workloads: [{ kind: 'Deployment', name: 'web', service: 'web', replicas: 1 }],
    });
    try {
      await waitFor(() => s.provider.list().some((i) => i.state === 'ready'), s.provider);
      await s.provider.refreshUsage(1_000);
      assert.equal(s.provider.usage(1_000).size, 0);
      await s.provider.refreshUsage(2_000);
      const reported = s.errors.filter((e) => /metrics\.k8s\.io is not served/.test(String(e)));
      assert.equal(reported.length, 1, String(s.errors));
    } finally {
      await s.cleanup();
    }
  });
});

test('parseQuantity reads Kubernetes quantities', () => {
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1500000n'), 0.0015);
  assert.equal(parseQuantity('64Mi'), 64 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.ok(Number.isNaN(parseQuantity('12 cores')));
});
