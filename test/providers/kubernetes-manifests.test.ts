/**
 * deploy/kubernetes/ must be valid without a cluster: every object is checked against the Kubernetes
 * OpenAPI schema (kubernetes-models' validators are generated from it: types, enums, required
 * fields), unknown fields are rejected as `kubectl --validate=strict` would (client-node's models,
 * also generated from the OpenAPI spec, list every field), and the pieces must fit together: RBAC
 * grants what the provider calls, selectors match, the embedded luascale.yaml passes our own schema.
 * `kubectl apply --dry-run=client` is not usable here: it needs a reachable API server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { parseConfig } from '../../src/config/load-config.js';
import { kubernetesOptionsFromConfig } from '../../src/app/provider-options.js';

const dir = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects: Array<{ file: string; obj: Obj }> = [];
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
    assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
    const obj = doc.toJS() as Obj | null;
    if (obj) objects.push({ file, obj });
  }
}

function find(kind: string, name: string): Obj {
  const found = objects.find((o) => o.obj.kind === kind && o.obj.metadata.name === name);
  assert.ok(found, `no ${kind} ${name} in deploy/kubernetes`);
  return found.obj;
}

/** The client-node model for a type name such as `V1PodSpec` or `Array<V1Container>`. */
type Model = { getAttributeTypeMap(): Array<{ name: string; baseName: string; type: string }> };
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const model = (k8s as unknown as Record<string, Model | undefined>)[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object' || value === null || Array.isArray(value))
    return;
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, v] of Object.entries(value)) {
    const t = attrs.get(key);
    if (t === undefined) out.push(`${path}.${key}`);
    else unknownFields(v, t, `${path}.${key}`, out);
  }
}

async function schemaValidate(obj: Obj): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module = group
    ? `kubernetes-models/${group}/${version}/${obj.kind}`
    : `kubernetes-models/${version}/${obj.kind}`;
  const models = (await import(module)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = models[obj.kind];
  assert.ok(Model, `${module} exports ${obj.kind}`);
  new Model(obj).validate();
}

describe('deploy/kubernetes manifests', () => {
  it('every object validates against the Kubernetes OpenAPI schema', async () => {
    assert.ok(objects.length >= 9, `found ${objects.length} objects`);
    for (const { file, obj } of objects) {
      await assert.doesNotReject(schemaValidate(obj), `${file}: ${obj.kind}/${obj.metadata?.name}`);
    }
  });

  it('the schema check catches a broken object (so the check above is real)', async () => {
    const broken = structuredClone(find('Deployment', 'luascale'));
    (broken as unknown as { spec: { replicas: unknown } }).spec.replicas = 'one';
    await assert.rejects(schemaValidate(broken), /replicas must be integer/);
    const noSelector = structuredClone(find('Deployment', 'luascale'));
    delete (noSelector as unknown as { spec: { selector?: unknown } }).spec.selector;
    await assert.rejects(
      schemaValidate(noSelector),
      /must have required property 'selector'|required property selector/,
    );
  });

  it('no object has a field the API does not know (strict field validation)', () => {
    for (const { file, obj } of objects) {
      const out: string[] = [];
      const [group, version] = obj.apiVersion.includes('/')
        ? obj.apiVersion.split('/')
        : ['', obj.apiVersion];
      void group;
      const type = `${version!.charAt(0).toUpperCase()}${version!.slice(1)}${obj.kind}`;
      assert.ok((k8s as unknown as Record<string, unknown>)[type], `client-node model ${type}`);
      unknownFields(obj, type, obj.kind, out);
      assert.deepEqual(out, [], `${file}: unknown fields`);
    }
    const typo: string[] = [];
    unknownFields({ spec: { replicas: 1, selectr: {} } }, 'V1Deployment', 'Deployment', typo);
    assert.deepEqual(typo, ['Deployment.spec.selectr']);
  });

  it('kustomization.yaml lists every manifest file', () => {
    const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
      resources: string[];
    };
    assert.deepEqual([...k.resources].sort(), [...files].sort());
    for (const r of k.resources) assert.ok(existsSync(join(dir, r)));
  });

  it('the Role grants exactly the calls the kubernetes provider makes', () => {
    const role = find('Role', 'luascale-scaler') as unknown as {
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    const allows = (group: string, resource: string, verb: string) =>
      role.rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    for (const resource of ['deployments/scale', 'statefulsets/scale'])
      for (const verb of ['get', 'update']) assert.ok(allows('apps', resource, verb), `${verb} ${resource}`);
    for (const verb of ['list', 'watch'])
      assert.ok(allows('discovery.k8s.io', 'endpointslices', verb), `${verb} endpointslices`);
    assert.ok(allows('', 'pods', 'patch'), 'patch pods (pod-deletion-cost)');
    assert.ok(!role.rules.some((r) => r.verbs.includes('*') || r.resources.includes('*')), 'no wildcards');
    const binding = find('RoleBinding', 'luascale-scaler') as unknown as {
      roleRef: { name: string };
      subjects: Array<{ name: string }>;
    };
    assert.equal(binding.roleRef.name, 'luascale-scaler');
    const deployment = find('Deployment', 'luascale') as unknown as {
      spec: { template: { spec: { serviceAccountName: string } } };
    };
    assert.equal(binding.subjects[0]!.name, deployment.spec.template.spec.serviceAccountName);
    find('ServiceAccount', deployment.spec.template.spec.serviceAccountName);
  });

  it('Services select their Deployments and target named container ports', () => {
    for (const [svc, dep] of [
      ['luascale', 'luascale'],
      ['web', 'web'],
    ] as const) {
      const s = find('Service', svc) as unknown as {
        spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> };
      };
      const d = find('Deployment', dep) as unknown as {
        spec: {
          selector: { matchLabels: Record<string, string> };
          template: {
            metadata: { labels: Record<string, string> };
            spec: { containers: Array<{ ports: Array<{ name: string }> }> };
          };
        };
      };
      for (const [k, v] of Object.entries(s.spec.selector))
        assert.equal(d.spec.template.metadata.labels[k], v, `${svc} selects ${dep}`);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        assert.equal(d.spec.template.metadata.labels[k], v);
      const names = d.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.name));
      for (const p of s.spec.ports)
        assert.ok(names.includes(p.targetPort), `${svc}: targetPort ${p.targetPort}`);
    }
  });

  it('the ConfigMap holds a luascale.yaml that passes the config schema and points at the example app', () => {
    const cm = find('ConfigMap', 'luascale-config') as unknown as { data: Record<string, string> };
    const config = parseConfig(cm.data['luascale.yaml']!, 'configmap.yaml', {
      LUASCALE_TOKEN: 'x'.repeat(32),
    });
    const provider = (
      config.services.web!.provider as { kubernetes: { name: string; service?: string; port?: string } }
    ).kubernetes;
    find('Deployment', provider.name);
    const svc = find('Service', provider.service ?? provider.name) as unknown as {
      spec: { ports: Array<{ name: string }> };
    };
    assert.ok(
      svc.spec.ports.some((p) => p.name === provider.port),
      'the EndpointSlice port name exists on the Service',
    );
    assert.deepEqual(kubernetesOptionsFromConfig('web', provider as never, '/etc/luascale'), {
      service: 'web',
      kind: 'Deployment',
      name: 'web',
      namespace: undefined,
      kubeService: 'web',
      port: 'http',
      scheme: 'http',
      route: 'endpoints',
      deletionCost: true,
    });
  });
});

describe('Dockerfile (not built here: no container engine)', () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const ignored = readFileSync(join(repo, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('copies only paths that exist and that .dockerignore lets into the build context', () => {
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    assert.ok(copies.length >= 5);
    for (const src of copies) {
      assert.ok(existsSync(join(repo, src)), `COPY ${src}: missing`);
      assert.ok(!ignored.includes(src), `COPY ${src}: excluded by .dockerignore`);
    }
  });

  it('runs as the uid the manifests require, exposes their ports, and starts luascale up', () => {
    const uid = /^USER (\d+)/m.exec(dockerfile)?.[1];
    const d = find('Deployment', 'luascale') as unknown as {
      spec: {
        template: {
          spec: {
            securityContext: { runAsUser: number };
            containers: Array<{ args: string[]; ports: Array<{ containerPort: number }> }>;
          };
        };
      };
    };
    assert.equal(Number(uid), d.spec.template.spec.securityContext.runAsUser);
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)![1]!.split(' ').map(Number);
    for (const p of d.spec.template.spec.containers[0]!.ports)
      assert.ok(exposed.includes(p.containerPort), `EXPOSE ${p.containerPort}`);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "\/app\/bin\/luascale\.js"\]$/m);
    assert.ok(existsSync(join(repo, 'bin/luascale.js')));
    assert.deepEqual(d.spec.template.spec.containers[0]!.args.slice(0, 1), ['up']);
    assert.ok(existsSync(join(repo, 'src/cli/commands/up.ts')), 'the up command exists');
  });
});

describe('deploy/grafana/luascale-dashboard.json', () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const dash = JSON.parse(readFileSync(join(repo, 'deploy/grafana/luascale-dashboard.json'), 'utf8')) as {
    uid: string;
    panels: Array<{ id: number; type: string; targets?: Array<{ expr: string }> }>;
  };
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const source = readFileSync(join(repo, 'src/gateway/prometheus.ts'), 'utf8');
  const exported = new Set(source.match(/luascale_[a-z_]+/g)!.filter((m) => !m.endsWith('_')));

  it('has unique panel ids and queries only metrics that src/gateway/prometheus.ts exports', () => {
    const ids = dash.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(dash.uid, 'luascale-overview');
    const used = new Set(exprs.flatMap((e) => e.match(/luascale_[a-z_]+/g) ?? []));
    for (const m of used) assert.ok(exported.has(m), `${m} is not exported by luascale`);
    for (const family of [
      'luascale_requests_total',
      'luascale_request_duration_seconds_bucket',
      'luascale_shed_total',
      'luascale_queue_depth',
      'luascale_inflight_requests',
    ])
      assert.ok(used.has(family), `${family} is on the dashboard`);
  });

  it('every query is valid PromQL (promtool check rules), when promtool is installed', (t) => {
    let promtool = true;
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    } catch {
      promtool = false;
    }
    if (!promtool) return t.skip('promtool not installed (Debian package prometheus)');
    const dir = mkdtempSync(join(tmpdir(), 'luascale-dash-'));
    try {
      // Grafana's variables become what Grafana would substitute.
      const rules = exprs.map((e, i) => {
        const expr = e
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$service', '.*')
          .replaceAll('$job', '.*');
        return `      - record: luascale:dashboard:${i}\n        expr: ${JSON.stringify(expr)}`;
      });
      const file = join(dir, 'rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      execFileSync('promtool', ['check', 'rules', file], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
