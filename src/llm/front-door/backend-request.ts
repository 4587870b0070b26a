/**
 * What one backend is sent for a call: the path and the body in the backend's format. The same
 * format gets the client's bytes (the model renamed when the backend has its own name); a
 * streaming OpenAI request also asks for usage (`stream_options.include_usage`), which the relay
 * strips again when the client did not ask, so the client sees the bytes it would have seen
 * without luascale. Another format gets the translated request (docs/llm-formats.md). A Responses
 * API request arrives here already a chat request (`body` and `raw` are the translated chat's).
 */
import { isObject, type JsonObject } from '../formats/checked.js';
import type { Backend } from './backends.js';
import { backendPath, type ApiFormat } from './endpoints.js';
import type { CallSetup } from './llm-call.js';

/** A request for a backend, or why this backend cannot serve the call (400 when it is the client's). */
export type BackendRequest =
  | { ok: true; path: string; body: Buffer | string; strip: boolean }
  | { ok: false; reason: string; status?: number; param?: string };

/** The request for `b`; `client` is the client's format. */
export function backendRequest(s: CallSetup, b: Backend, client: ApiFormat): BackendRequest {
  const { endpoint, body, raw } = s;
  const kind = endpoint.kind;
  const stream = body.stream === true;
  const path = (b.kind === 'hosted' ? b.basePath : '') + backendPath(kind, b.format);
  if (b.format === client) {
    const inject = stream && b.format === 'openai' && !includesUsage(body);
    if (!inject && b.model === undefined) return { ok: true, path, body: raw, strip: false };
    // The usual case (no stream_options of the client's, its own model name): the option is
    // spliced into the client's bytes, not the whole prompt re-serialised.
    const spliced =
      inject && b.model === undefined && body.stream_options === undefined ? withUsageOption(raw) : undefined;
    if (spliced !== undefined) return { ok: true, path, body: spliced, strip: true };
    const out: JsonObject = { ...body };
    if (b.model !== undefined) out.model = b.model;
    if (inject)
      out.stream_options = {
        ...(isObject(body.stream_options) ? body.stream_options : {}),
        include_usage: true,
      };
    return { ok: true, path, body: JSON.stringify(out), strip: inject };
  }
  const chatLike = kind === 'chat' || kind === 'messages' || kind === 'responses';
  if (!chatLike && !(kind === 'completions' && b.format === 'anthropic'))
    return { ok: false, reason: `${b.label}: ${kind} needs an OpenAI-format backend` };
  const t = s.ctx.translation.request(body, b.format, {
    model: b.model,
    maxTokensDefault: s.model.maxTokensDefault,
    kind,
  });
  if (!t.ok) return { ok: false, reason: t.message, status: 400, param: t.field };
  const out = t.value;
  // Usage is needed to meter the stream (and for Anthropic's message_delta): always asked for.
  if (b.format === 'openai' && stream) out.stream_options = { include_usage: true };
  return { ok: true, path, body: JSON.stringify(out), strip: false };
}

/** Whether the client itself asked for the usage chunk. */
export function includesUsage(body: JsonObject): boolean {
  return isObject(body.stream_options) && body.stream_options.include_usage === true;
}

const USAGE_OPTION = Buffer.from('"stream_options":{"include_usage":true},');

/** A non-empty JSON object's bytes with `"stream_options":{"include_usage":true}` as its first member. */
function withUsageOption(raw: Buffer): Buffer | undefined {
  const ws = (c: number | undefined) => c === 32 || c === 10 || c === 13 || c === 9;
  let i = 0;
  while (ws(raw[i])) i++;
  if (raw[i] !== 123) return undefined;
  let j = i + 1;
  while (ws(raw[j])) j++;
  if (j >= raw.length || raw[j] === 125) return undefined;
  return Buffer.concat([raw.subarray(0, i + 1), USAGE_OPTION, raw.subarray(i + 1)]);
}
