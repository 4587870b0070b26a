/**
 * A relayed stream's body chunks written straight to the client's HTTP/1.1 socket, each framed
 * as one chunk of the chunked transfer coding (RFC 9112 §7.1) in one buffer: one socket write
 * per chunk. `res.write` frames a chunk as four writes (size line, CRLF, data, CRLF) corked
 * until the next tick and sent as one writev: per relayed chunk, four buffered-write records,
 * a size string, the writev's arrays and a tick, which were most of what the gateway allocated
 * per chunk and a tenth of its CPU per chunk (the profile of `npm run bench llm`).
 *
 * Only where that is the same bytes in the same order as `res.write`: an HTTP/1.1 response
 * (not HTTP/2's compat response), its head already sent, chunked, the socket's current message
 * and nothing of it still buffered in the response. Otherwise `open` gives undefined and the
 * caller keeps `res.write`. The end (`res.end`, the zero-size chunk) stays the response's own.
 */
import http from 'node:http';
import type { Socket } from 'node:net';

/** The response's internals read to decide (node's OutgoingMessage; not in its typings). */
interface OutgoingInternals {
  /** The head is on the socket (`headersSent` is true from `writeHead` on, before it is). */
  _headerSent?: boolean;
  chunkedEncoding?: boolean;
  outputData?: unknown[];
}

const CRLF = 0x0a0d; // "\r\n" as a little-endian uint16
/** The frame buffer's first size (an OpenAI chunk is ~250 bytes). */
const FRAME_START = 2048;
/** Frames larger than this are not kept for reuse. */
const FRAME_KEEP = 64 * 1024;
/**
 * The frame buffer every call writes its chunks through, one at a time (the event loop is one
 * thread): reused while each write is taken whole by the kernel at once (the socket holds nothing
 * afterwards), left to the socket when a write stays pending (the next write takes a new one). A
 * buffer per chunk from node's pool counted as external memory and brought the mark-compacts
 * back; one per call cost an allocation per request.
 */
let shared: Buffer | undefined;

/** The client socket a response's chunks can be written to directly, or undefined (see the module comment). */
export function openChunkedSocket(res: http.ServerResponse): ChunkedSocket | undefined {
  if (!(res instanceof http.ServerResponse)) return undefined;
  const r = res as http.ServerResponse & OutgoingInternals;
  if (
    r._headerSent !== true ||
    r.chunkedEncoding !== true ||
    r.outputData === undefined ||
    r.outputData.length !== 0
  )
    return undefined;
  const socket = res.socket as (Socket & { _httpMessage?: unknown }) | null;
  if (socket === null || socket._httpMessage !== res || !socket.writable) return undefined;
  return new ChunkedSocket(res, socket);
}

/** Writes chunk-framed body chunks of one response to its socket. */
export class ChunkedSocket {
  /** TLS: a fresh frame per chunk (no reuse reasoning about what the TLS layer holds). */
  private readonly reuse: boolean;

  constructor(
    private readonly res: http.ServerResponse,
    readonly socket: Socket,
  ) {
    this.reuse = (socket as Socket & { encrypted?: boolean }).encrypted !== true;
  }

  /**
   * Writes `data` (non-empty) as one chunk; false when the socket asks to wait for 'drain' (as
   * `res.write`'s false). A socket that went away takes nothing (its 'close' ends the call).
   */
  write(data: Buffer | string): boolean {
    const socket = this.socket;
    if (!socket.writable || this.res.writableEnded) return true;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (n === 0) return true;
    const size = n.toString(16);
    const need = size.length + n + 4;
    let frame = this.reuse ? shared : undefined;
    if (frame === undefined || frame.length < need)
      frame = Buffer.allocUnsafeSlow(Math.max(need, FRAME_START));
    let at = frame.write(size, 0, 'latin1');
    frame.writeUInt16LE(CRLF, at);
    at += 2;
    at += typeof data === 'string' ? frame.write(data, at, 'utf8') : data.copy(frame, at);
    frame.writeUInt16LE(CRLF, at);
    const ok = socket.write(frame.subarray(0, need));
    if (this.reuse) shared = socket.writableLength === 0 && frame.length <= FRAME_KEEP ? frame : undefined;
    return ok;
  }
}
