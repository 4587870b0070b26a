/**
 * The CLI shell: builds the commander program from one module per command and turns
 * user errors into one clear line and exit code 1 (no stack trace for user mistakes).
 */
import { Command, CommanderError } from 'commander';
import { isLuascaleError } from '../core/errors.js';
import { commands } from './commands/index.js';

/** Exit codes: 0 ok, 1 user error or failed check, 2 usage error, 3 admin API unreachable, 70 internal error (sysexits EX_SOFTWARE). */
export const EXIT = { ok: 0, user: 1, usage: 2, unreachable: 3, internal: 70 } as const;

/** Builds the program; exported so tests can drive it in-process. */
export function buildProgram(): Command {
  const program = new Command('luascale')
    .description('An API gateway and autoscaler whose scaling policies are sandboxed Lua scripts')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    if (isLuascaleError(err)) {
      process.stderr.write(`error: ${err.message}\n`);
      return (err as { exitCode?: number }).exitCode ?? EXIT.user;
    }
    process.stderr.write(`internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}
