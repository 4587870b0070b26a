/** The one constructor of "a bad argument value" errors for the commands (exit 2, README's table). */
import { LuascaleError } from '../core/errors.js';

/** A usage error (exit 2) about one argument or flag: `{arg}: {reason}`. */
export function badArgument(arg: string, reason: string): LuascaleError {
  return new LuascaleError('LS_ERR_CLI_BAD_ARGUMENT', { arg, reason });
}
