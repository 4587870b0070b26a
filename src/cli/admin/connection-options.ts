/**
 * The connection flags every admin command takes. Light on purpose: each command's `register`
 * imports it when the program is built, so it must not pull in the config loader or an HTTP client
 * (those load in the action, through ./call-admin.ts).
 */
import type { Command } from 'commander';

/** The connection flags every admin command takes (`--admin`, `--token`, `-c`, `--json`). */
export interface ConnOpts {
  admin?: string;
  token?: string;
  config?: string;
  json?: boolean;
}

/** Adds the connection flags of {@link ConnOpts} to an admin command. */
export function withConnectionOptions(c: Command): Command {
  return c
    .option('--admin <url>', 'admin API base URL (default: $LUASCALE_ADMIN, then admin.listen of the config)')
    .option(
      '--token <token>',
      'bearer token (default: $LUASCALE_TOKEN, then admin.token of the config when talking to its own admin.listen)',
    )
    .option(
      '-c, --config <file>',
      'config to read admin.listen and admin.token from (default: ./luascale.yaml if it exists; with --admin, read only when given)',
    )
    .option('--json', 'print JSON');
}
