/**
 * Node's own llhttp binding, the `HTTPParser` that `node:http` drives for its client and server.
 * It is maintained with node (llhttp, strict by default) and needs no native or wasm dependency.
 *
 * How it is reached, warning-free on node 20 to 26: a `node:http` Server given a connection (any
 * Duplex, through the documented `server.emit('connection', socket)`) allocates a parser from its
 * free list and sets it as `socket.parser`; its constructor is the binding's class, with the
 * callback slots (`kOnHeadersComplete`, ...) as static fields. `process.binding('http_parser')`
 * warns under --pending-deprecation (DEP0111) and `require('_http_common')` is slated for
 * deprecation, so neither is used unless the first route fails (then `_http_common` is tried).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';

/** The subset of node's HTTPParser instance API used by the lean client (see _http_client.js). */
export interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Parses `data`; returns bytes parsed, or an Error with `code` (`HPE_*`) and `reason`. */
  execute(data: Buffer): number | Error;
  /** Signals EOF; an Error when the message was cut short. */
  finish(): undefined | Error;
  close(): void;
  free(): void;
  /** Reads straight from a StreamBase handle; each read is reported through `kOnExecute`. */
  consume?(handle: object): void;
  unconsume?(): void;
  [slot: number]: unknown;
}

/** The binding's constructor with its static constants. */
export interface NodeHttpParserClass {
  new (): NodeHttpParser;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}

let cached: NodeHttpParserClass | null | undefined;

/** The binding's class, or null when this node exposes none (the lean client then stays off). */
export function httpParserClass(): NodeHttpParserClass | null {
  if (cached === undefined) cached = valid(fromServerSocket()) ?? valid(fromHttpCommon()) ?? null;
  return cached;
}

function fromServerSocket(): unknown {
  try {
    const server = http.createServer();
    const socket = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
    server.emit('connection', socket);
    const parser = (socket as unknown as { parser?: object }).parser;
    socket.destroy();
    return parser?.constructor;
  } catch {
    return undefined;
  }
}

function fromHttpCommon(): unknown {
  try {
    return (createRequire(import.meta.url)('_http_common') as { HTTPParser?: unknown }).HTTPParser;
  } catch {
    return undefined;
  }
}

function valid(c: unknown): NodeHttpParserClass | undefined {
  if (typeof c !== 'function') return undefined;
  const k = c as unknown as Partial<NodeHttpParserClass>;
  const slots = [k.kOnHeaders, k.kOnHeadersComplete, k.kOnBody, k.kOnMessageComplete, k.kOnExecute];
  if (slots.some((s) => typeof s !== 'number') || typeof k.RESPONSE !== 'number') return undefined;
  return k as NodeHttpParserClass;
}
