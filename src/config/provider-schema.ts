/** The schema of a service's `provider` section: where its instances run. */
import { Type } from '@sinclair/typebox';
import { Duration, Pattern, strict } from './schema-primitives.js';

const ProcessProvider = strict(
  {
    command: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'argv of one instance' }),
    cwd: Type.Optional(Type.String({ description: 'Working directory (relative to the config file)' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra environment' })),
    port_env: Pattern(
      '^[A-Za-z_][A-Za-z0-9_]*$',
      'must be an environment variable name (letters, digits and "_", not starting with a digit)',
      { default: 'PORT', description: 'Env var that receives the free port' },
    ),
    health_path: Pattern('^/', 'must start with "/"', {
      default: '/healthz',
      description: 'Readiness probe path',
    }),
    start_timeout: Duration('Time an instance has to become ready', '30s', '100ms'),
    stop_grace: Duration('SIGTERM → SIGKILL grace period (0 = SIGKILL at once)', '10s', '0s', '1h'),
    log_dir: Type.Optional(Type.String({ description: 'Per-instance log files (default .luascale/logs)' })),
    memory_limit_mb: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 16_777_216, description: 'Memory that counts as 100 %' }),
    ),
  },
  'Local processes (the embedded default)',
);

/** Exactly one of process, static, exec, kubernetes. */
export const Provider = Type.Union(
  [
    strict({ process: ProcessProvider }, 'Local processes'),
    strict(
      {
        static: strict(
          {
            targets: Type.Array(Pattern('^https?://', 'must be a URL starting with http:// or https://'), {
              minItems: 1,
            }),
          },
          'Fixed targets; scaling is advisory',
        ),
      },
      'Fixed targets',
    ),
    strict(
      {
        exec: strict(
          {
            scale_command: Type.Array(Type.String(), {
              minItems: 1,
              description: 'Gets the desired count as last arg',
            }),
            list_command: Type.Array(Type.String(), { minItems: 1, description: 'Prints JSON targets' }),
            timeout: Duration('Command timeout', '30s', '100ms', '1h'),
            poll_interval: Duration('How often list_command runs', '5s', '100ms', '1h'),
            cwd: Type.Optional(
              Type.String({ description: 'Working directory (relative to the config file)' }),
            ),
            env: Type.Optional(
              Type.Record(Type.String(), Type.String(), { description: 'Extra environment' }),
            ),
          },
          'Any cloud CLI or script',
        ),
      },
      'Commands',
    ),
    strict(
      {
        kubernetes: strict(
          {
            namespace: Type.Optional(
              Type.String({
                description: "Default: the kubeconfig context's; in-cluster the pod's own; else default",
              }),
            ),
            kind: Type.Union([Type.Literal('Deployment'), Type.Literal('StatefulSet')], {
              default: 'Deployment',
            }),
            name: Type.String({ minLength: 1 }),
            kubeconfig: Type.Optional(
              Type.String({ description: 'kubeconfig path (default: in-cluster or ~/.kube/config)' }),
            ),
            service: Type.Optional(
              Type.String({
                minLength: 1,
                description: 'Service whose EndpointSlices list the pods (default: name)',
              }),
            ),
            port: Type.Optional(
              Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 1, maximum: 65535 })], {
                description: 'EndpointSlice port name or number (default: the first)',
              }),
            ),
            scheme: Type.Union([Type.Literal('http'), Type.Literal('https')], { default: 'http' }),
            route: Type.Union([Type.Literal('endpoints'), Type.Literal('service')], {
              default: 'endpoints',
              description: 'Route to each ready pod, or to the Service cluster address',
            }),
            service_url: Type.Optional(
              Pattern('^https?://', 'must be a URL starting with http:// or https://', {
                description: 'route: service: the URL (default http://<service>.<ns>.svc:80)',
              }),
            ),
            deletion_cost: Type.Boolean({
              default: true,
              description: 'Annotate drained pods with pod-deletion-cost (needs patch pods)',
            }),
          },
          'A Deployment or StatefulSet',
        ),
      },
      'Kubernetes',
    ),
  ],
  { description: 'Where instances run: exactly one of process, static, exec, kubernetes' },
);
