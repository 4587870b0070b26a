/**
 * `luascale keys create --consumer NAME | list [--json] | revoke ID`: consumers' API keys through
 * the admin API. `create` prints the key once (only its SHA-256 is stored, so it cannot be shown
 * again); `list` shows ids, consumers and whether each key is revoked, never a key.
 */
import type { Command } from 'commander';
import { callAdmin } from '../admin/call-admin.js';
import { withConnectionOptions, type ConnOpts } from '../admin/connection-options.js';
import { table } from '../table.js';

interface KeyOpts extends ConnOpts {
  consumer?: string;
}

interface KeyView {
  id: string;
  consumer: string;
  createdAt: number;
  revokedAt: number | null;
}

const out = (s: string): void => void process.stdout.write(s);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const conn = withConnectionOptions;

/** Registers `keys` and its subcommands. */
export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description("Create, list and revoke consumers' API keys (for services and routes with auth: key)")
    .addHelpText(
      'after',
      '\nA client sends its key as `Authorization: Bearer <key>` or `x-api-key: <key>`; the gateway\n' +
        'answers 401 without a valid one and never forwards the key upstream. Only a SHA-256 of each\n' +
        'key is stored: `create` prints it once. See docs/consumers.md.',
    );
  conn(
    keys
      .command('create')
      .description('Create an API key for a consumer of the config and print it (once)')
      .requiredOption('--consumer <name>', 'the consumer (a key of `consumers:` in the config)'),
  ).action(async (o: KeyOpts) => {
    const k = await callAdmin(o, {
      method: 'POST',
      path: '/v1/keys',
      body: { consumer: o.consumer },
      valid: (j) => typeof j?.key === 'string',
    });
    if (o.json) return out(JSON.stringify(k) + '\n');
    out(`${k.key}\n`);
    process.stderr.write(`key ${k.id} for consumer ${k.consumer}: store it now, it cannot be shown again\n`);
  });
  conn(
    keys.command('list').description('List API keys: id, consumer, created, revoked (never the key)'),
  ).action(async (o: KeyOpts) => {
    const r = await callAdmin(o, { method: 'GET', path: '/v1/keys', valid: (j) => Array.isArray(j?.keys) });
    if (o.json) return out(JSON.stringify(r.keys) + '\n');
    out(
      table(
        ['ID', 'CONSUMER', 'CREATED', 'REVOKED'],
        (r.keys as KeyView[]).map((k) => [
          k.id,
          k.consumer,
          when(k.createdAt),
          k.revokedAt === null ? '-' : when(k.revokedAt),
        ]),
      ),
    );
  });
  conn(
    keys
      .command('revoke')
      .description('Revoke an API key: requests with it get 401 from now on')
      .argument('<id>', 'the key id (as `keys list` shows it)'),
  ).action(async (id: string, o: KeyOpts) => {
    const k = await callAdmin(o, {
      method: 'POST',
      path: `/v1/keys/${encodeURIComponent(id)}/revoke`,
      valid: (j) => typeof j?.id === 'string',
    });
    if (o.json) return out(JSON.stringify(k) + '\n');
    out(`revoked ${k.id} (consumer ${k.consumer})\n`);
  });
}
