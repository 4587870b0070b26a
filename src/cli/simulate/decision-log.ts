import { closeSync, openSync, writeSync } from 'node:fs';
import { LuascaleError } from '../../core/errors.js';

/** `--decisions`: every Decision (with its logs and alerts) as one JSON line, written as it comes. */
export function decisionLog(file: string): { write(d: object): void; close(): void } {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: `cannot write decisions: ${(err as Error).message}`,
    });
  }
  let buf: string[] = [];
  const flush = () => {
    if (buf.length) writeSync(fd, buf.join(''));
    buf = [];
  };
  return {
    write(d) {
      buf.push(JSON.stringify(d) + '\n');
      if (buf.length >= 1000) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}
