/**
 * The CLI shell: builds the commander program from one module per command and turns
 * user errors into one clear line and an exit code (no stack trace for user mistakes).
 */
import { Command, CommanderError } from 'commander';
import { isLuascaleError, type LuascaleError } from '../core/errors.js';
import { commands } from './commands/index.js';

/**
 * Exit codes: 0 ok, 1 user error, failed check or the admin API refused (4xx), 2 usage error (a bad
 * command line or argument value), 3 admin API unreachable (or something else answers there),
 * 4 a simulated policy failed (`simulate` ran to the end, but some decisions were PolicyError),
 * 70 internal error (sysexits EX_SOFTWARE), in the CLI or an admin API 5xx.
 */
export const EXIT = { ok: 0, user: 1, usage: 2, unreachable: 3, policy: 4, internal: 70 } as const;

/** The exit code for a user-facing error, from its registry code. */
export function exitCodeOf(err: LuascaleError): number {
  switch (err.code) {
    case 'LS_ERR_CLI_BAD_ARGUMENT':
      return EXIT.usage;
    case 'LS_ERR_CLI_INPUT':
      // Inline `--input` text is an argument value; `@file` is a file to fix (1, naming it).
      return /^--input(?: |$)/.test(String(err.details.where)) ? EXIT.usage : EXIT.user;
    case 'LS_ERR_CLI_UNREACHABLE':
    case 'LS_ERR_CLI_NOT_ADMIN':
      return EXIT.unreachable;
    case 'LS_ERR_CLI_API':
      return Number(err.details.status) >= 500 ? EXIT.internal : EXIT.user;
    default:
      return EXIT.user;
  }
}

/** Builds the program; exported so tests can drive it in-process. */
export function buildProgram(): Command {
  const program = new Command('luascale')
    .description('An API gateway and autoscaler whose scaling policies are sandboxed Lua scripts')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 user error or failed check or the admin API refused (4xx), 2 usage error,\n' +
        '3 admin API unreachable (or not a luascale admin API), 4 a policy failed in simulate,\n' +
        '70 internal error (also an admin API 5xx).',
    );
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
      return exitCodeOf(err);
    }
    process.stderr.write(`internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}

/**
 * A reader that stops reading (`luascale events | head`) closes the pipe: the next write fails with
 * EPIPE. That is the reader's choice, not an error: exit quietly with 0, as `cat` does with SIGPIPE
 * ignored. Installed by the executable only, not when tests drive {@link main} in-process.
 */
export function exitQuietlyOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

/** The executable's whole life: pipe handling, {@link main}, the exit code (bin/luascale.js calls it). */
export async function run(argv: string[]): Promise<void> {
  exitQuietlyOnBrokenPipe(process.stdout);
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    // main() already turns user errors into one line; anything here is a bug in luascale.
    console.error(err);
    process.exitCode = EXIT.internal;
  }
}
