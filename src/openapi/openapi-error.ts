/**
 * Explains a failed OpenAPI import in one line (file, JSON pointer, reason, line): swagger-parser's
 * errors are turned into LS_ERR_OPENAPI_INVALID naming where the fault is written, such as the `$ref`
 * that does not resolve (in the root document or a local file it names), a lone UTF-16 surrogate, or
 * both operations of a repeated operationId (OpenAPI §4.8.10.1). Runs only once an import has failed.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LuascaleError, isLuascaleError } from '../core/errors.js';
import { escapePointer, lineOf } from './document-lines.js';
import { show } from './luascale-extensions.js';
import { METHODS } from './operation-methods.js';

/**
 * Adds the line to an LS_ERR_OPENAPI_INVALID naming a JSON pointer: the document is parsed once more
 * (only after a failure) with source positions, and the pointer followed as far as it exists.
 */
export function withLine(err: unknown): unknown {
  if (!isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID')) return err;
  const { file, pointer, reason } = err.details as { file?: string; pointer?: string; reason?: string };
  if (typeof file !== 'string' || typeof pointer !== 'string' || typeof reason !== 'string') return err;
  if (/\bline \d+/.test(reason) || pointer === '/' || pointer === '') return err;
  const line = lineOf(file, pointer);
  if (line === undefined) return err;
  return new LuascaleError('LS_ERR_OPENAPI_INVALID', { file, pointer, reason: `${reason} (line ${line})` });
}

/** Turns swagger-parser's error into one line: file, JSON pointer, reason. */
export function openApiError(file: string, err: unknown): LuascaleError {
  const e = err as any;
  if (e?.code === 'EMISSINGPOINTER' && typeof e.source === 'string' && typeof e.targetRef === 'string') {
    const at = findRef(file, e.source, e.targetRef);
    if (at)
      return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file: at.file,
        pointer: at.pointer,
        reason: `$ref "${at.ref}" does not resolve${e.targetToken ? ` ("${e.targetToken}" does not exist)` : ''}`,
      });
  }
  // A key or $ref with a lone UTF-16 surrogate (a JSON "\ud800") fails inside the parser's URI handling.
  if (e instanceof URIError) {
    const at = findIllFormed(file);
    if (at !== undefined)
      return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file,
        pointer: at,
        reason: 'is not valid Unicode (a lone UTF-16 surrogate)',
      });
  }
  // Swagger 2.0's spec check refuses a repeated operationId without saying where: find both.
  const dup = /^Validation failed\. Duplicate operation id '(.*)'$/.exec(String(e?.message ?? ''));
  if (dup) {
    const found = findOperationIds(file, dup[1]!);
    if (found.length >= 2) return duplicateOperationId(file, dup[1]!, found[0]!, found[1]!);
  }
  // A file that cannot be read (ERESOLVER, with its path) or a URL (not fetched): name the $ref.
  const unreadable =
    e?.code === 'ERESOLVER' && typeof e.source === 'string'
      ? resolve(e.source)
      : /^Unable to resolve \$ref pointer "([^"#]+)/.exec(String(e?.message ?? ''))?.[1];
  if (unreadable !== undefined) {
    const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(unreadable);
    const at = findRefTo(file, (target) => target === unreadable || target.split('#')[0] === unreadable);
    if (at)
      return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file: at.file,
        pointer: at.pointer,
        reason: remote
          ? `$ref "${at.ref}" is a URL; luascale resolves $refs in local files only (download it beside the document)`
          : `$ref "${at.ref}" names a file that cannot be read (${e.ioErrorCode ?? e.code ?? 'error'})`,
      });
  }
  // YAML/JSON that does not parse: `Error parsing <file>: <what> (line:column)`.
  const syntax = /^Error parsing (.+?): ([\s\S]*?)(?: \((\d+):(\d+)\))?$/.exec(
    String(e?.message ?? '').split('\n')[0]!,
  );
  if (syntax && e?.code !== 'ERESOLVER')
    return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
      file: resolve(syntax[1]!) === resolve(file) ? file : syntax[1]!,
      pointer: '/',
      reason: `not valid YAML or JSON: ${syntax[2]!.trim()}${syntax[3] ? ` (line ${syntax[3]}, column ${syntax[4]})` : ''}`,
    });
  const detail = Array.isArray(e?.details) ? e.details[0] : undefined;
  let pointer: string =
    detail?.instancePath ??
    (Array.isArray(detail?.path) ? '/' + detail.path.map(String).map(escapePointer).join('/') : '');
  let reason: string = detail?.message ?? String(e?.message ?? err).split('\n')[0];
  if (!pointer) {
    const m = /#(\/[^\s"']*)/.exec(String(e?.message ?? ''));
    if (m) pointer = m[1]!;
  }
  if (e?.code === 'ENOENT' || /ENOENT/.test(String(e?.message))) reason = 'file not found';
  return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
    file,
    pointer: pointer || '/',
    reason: reason.replace(/\s+/g, ' ').trim(),
  });
}

/** LS_ERR_OPENAPI_INVALID at the second operation naming `id`, with both JSON pointers and lines. */
function duplicateOperationId(file: string, id: string, first: string, second: string): LuascaleError {
  const at = (pointer: string) => {
    const line = lineOf(file, pointer);
    return line === undefined ? '' : ` (line ${line})`;
  };
  return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
    file,
    pointer: second,
    reason:
      `operationId ${show(id)}${at(second)} is already the operationId of ` +
      `${first}${at(first)}; an operationId must be unique in the document (OpenAPI §4.8.10.1): rename one`,
  });
}

/** The JSON pointer of the first key or string of the root document that is not well-formed UTF-16. */
function findIllFormed(file: string): string | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const bad = (v: string) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
  const walk = (node: unknown, pointer: string): string | undefined => {
    if (typeof node === 'string') return bad(node) ? pointer || '/' : undefined;
    if (!node || typeof node !== 'object') return undefined;
    for (const [k, v] of Object.entries(node)) {
      const at = `${pointer}/${escapePointer(k)}`;
      if (bad(k)) return at;
      const found = walk(v, at);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(doc, '');
}

/** JSON pointers of the operations of the root document (as written, `$ref`s not followed) naming `id`. */
function findOperationIds(file: string, id: string): string[] {
  let doc: any;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const [path, item] of Object.entries<any>(doc?.paths ?? {})) {
    if (!item || typeof item !== 'object') continue;
    for (const method of METHODS)
      if (item[method]?.operationId === id) out.push(`/paths/${escapePointer(path)}/${method}/operationId`);
  }
  return out;
}

/**
 * The first `$ref` whose target (resolved against the file it is written in: an absolute path, or
 * the URL as written) `match` accepts, searching the root document, then the local files it names.
 */
function findRefTo(
  root: string,
  match: (target: string) => boolean,
): { file: string; pointer: string; ref: string } | undefined {
  const files = [resolve(root)];
  for (let i = 0; i < files.length && i < 50; i++) {
    const file = files[i]!;
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const found = walkRefs(doc, '', (ref) => {
      const path = ref.split('#')[0]!;
      if (path === '') return false;
      const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
      const target = remote ? path : resolve(dirname(file), decodeURIComponent(path));
      if (match(target)) return true;
      if (!remote && !files.includes(target)) files.push(target);
      return false;
    });
    if (found) return { file: file === resolve(root) ? root : file, ...found };
  }
  return undefined;
}

/**
 * Where a `$ref` to `targetFile#targetRef` is written: in the root document, else in the target's
 * own file (a reference inside an external file). Runs only once an import has failed.
 */
function findRef(
  root: string,
  targetFile: string,
  targetRef: string,
): { file: string; pointer: string; ref: string } | undefined {
  const want = `${resolve(targetFile)}${targetRef}`;
  for (const file of new Set([root, targetFile])) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const found = walkRefs(doc, '', (ref) => {
      const hash = ref.indexOf('#');
      const path = hash < 0 ? ref : ref.slice(0, hash);
      const fragment = hash < 0 ? '#' : ref.slice(hash);
      const target = path === '' ? resolve(file) : resolve(dirname(file), path);
      return `${target}${decodeURIComponent(fragment)}` === want || `${target}${fragment}` === want;
    });
    if (found) return { file, ...found };
  }
  return undefined;
}

/** The first `$ref` (depth first, in document order) that `match` accepts, with its JSON pointer. */
function walkRefs(
  node: unknown,
  pointer: string,
  match: (ref: string) => boolean,
): { pointer: string; ref: string } | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && match(ref)) return { pointer: pointer || '/', ref };
  for (const [k, v] of Object.entries(node)) {
    const found = walkRefs(v, `${pointer}/${escapePointer(k)}`, match);
    if (found) return found;
  }
  return undefined;
}
