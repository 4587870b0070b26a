/** Reads CLI JSON input given inline or as `@file`, with one-line errors that name the source. */
import { readFileSync } from 'node:fs';
import { LuascaleError } from '../core/errors.js';

/** Parses `--input` (JSON text or `@path`). */
export function readJsonInput(arg: string): unknown {
  const fromFile = arg.startsWith('@');
  const where = fromFile ? arg.slice(1) : '--input';
  let text = arg;
  if (fromFile) {
    try {
      text = readFileSync(where, 'utf8');
    } catch (err) {
      throw new LuascaleError('LS_ERR_CLI_INPUT', {
        where,
        reason: `cannot read (${(err as NodeJS.ErrnoException).code})`,
      });
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const pos = m ? Number(m[1]) : -1;
    const line = pos >= 0 ? text.slice(0, pos).split('\n').length : 1;
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: fromFile ? `${where}:${line}` : where,
      reason: `invalid JSON: ${(err as Error).message}`,
    });
  }
}

/** Prints rows of [label, value] as an aligned two-column table. */
export function formatRows(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
