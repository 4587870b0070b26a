/**
 * Lines of JSON pointers in an OpenAPI document, for errors and warnings that name a place
 * (`file:line`): the document is parsed again, with source positions, only when a line is wanted
 * (after a failed import, or for a warning), and the pointer (RFC 6901) followed as far as it exists.
 */
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';

/** Documents up to this size are parsed again, after a failed import or for a warning, to find a line. */
const LINE_LOOKUP_MAX_BYTES = 8 * 1024 * 1024;

export function lineOf(file: string, pointer: string): number | undefined {
  return lineLocator(file)(pointer);
}

/** Lines of JSON pointers of `file`, the document parsed (with source positions) on the first call. */
export function lineLocator(file: string): (pointer: string) => number | undefined {
  let parsed: { root: unknown; counter: LineCounter } | null | undefined;
  return (pointer) => {
    parsed ??= parseWithPositions(file);
    return parsed === null ? undefined : lineIn(parsed.root, parsed.counter, pointer);
  };
}

function parseWithPositions(file: string): { root: unknown; counter: LineCounter } | null {
  try {
    if (statSync(file).size > LINE_LOOKUP_MAX_BYTES) return null;
    const counter = new LineCounter();
    const text = readFileSync(file, 'utf8');
    return { root: parseDocument(text, { lineCounter: counter, uniqueKeys: false }).contents, counter };
  } catch {
    return null;
  }
}

function lineIn(root: unknown, counter: LineCounter, pointer: string): number | undefined {
  let node = root;
  let at = isNode(node) ? node.range?.[0] : undefined;
  const tokens = pointer === '/' || pointer === '' ? [] : pointer.slice(1).split('/');
  for (const raw of tokens) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      at = (isNode(pair.key) ? pair.key.range?.[0] : undefined) ?? at;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(key) && node.items[Number(key)] !== undefined) {
      node = node.items[Number(key)];
      at = isNode(node) ? (node.range?.[0] ?? at) : at;
    } else break;
  }
  return at === undefined ? undefined : counter.linePos(at).line;
}

export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
