/**
 * The AI demo's client: one streaming OpenAI chat completion through the gateway, timed to its
 * first content token, with the token counts of the stream's usage chunk (asked for with
 * `stream_options.include_usage`). A non-200 answer, a stream with an error event, a stream
 * without `[DONE]` or a network error is an error.
 */
import { request } from 'undici';

/** One request's outcome. */
export interface ChatResult {
  ok: boolean;
  status: number;
  /** Request sent → first content token, ms (-1 when none came). */
  ttftMs: number;
  tokensIn: number;
  tokensOut: number;
}

const TOPICS = ['autoscaling', 'queues', 'KV caches', 'time to first token', 'load balancing', 'cold starts'];

/** The `i`th request's body: a short prompt that varies with `i`, and 32–96 output tokens. */
export function chatBody(i: number): string {
  return JSON.stringify({
    model: 'llm-sim',
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: `Request ${i}: explain ${TOPICS[i % TOPICS.length]} in a few sentences.` },
    ],
    max_tokens: 32 + ((i * 7) % 65),
    stream: true,
    stream_options: { include_usage: true },
  });
}

/** Streams the `i`th chat from the gateway at `url`; never rejects. */
export async function streamChat(url: string, i: number): Promise<ChatResult> {
  const start = performance.now();
  const out: ChatResult = { ok: false, status: 0, ttftMs: -1, tokensIn: 0, tokensOut: 0 };
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(i),
      signal: AbortSignal.timeout(120_000),
    });
    out.status = res.statusCode;
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString('utf8');
      if (out.ttftMs < 0 && text.includes('"content":"')) out.ttftMs = performance.now() - start;
    }
    if (res.statusCode !== 200) return out;
    let errored = false;
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const ev = JSON.parse(line.slice(6)) as {
        error?: unknown;
        usage?: { prompt_tokens: number; completion_tokens: number } | null;
      };
      if (ev.error !== undefined) errored = true;
      if (ev.usage) {
        out.tokensIn = ev.usage.prompt_tokens;
        out.tokensOut = ev.usage.completion_tokens;
      }
    }
    out.ok = !errored && out.ttftMs >= 0 && text.includes('data: [DONE]');
  } catch {
    out.ok = false;
  }
  return out;
}
