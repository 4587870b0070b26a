/**
 * Text followed by two tool calls in one answer (OpenAI's parallel tool calls; Anthropic's text
 * block then two tool_use blocks), as the providers send them, through the front door's
 * translation to the other format's official client, streamed and not. llm-sim makes one call
 * and no text beside it, so these backends replay the providers' documented wire shapes instead.
 * The streams carry what the providers add beside the events (OpenAI's `obfuscation` padding,
 * Anthropic's `ping` events). The SDKs' own accumulators (`finalMessage`, `finalChatCompletion`) must rebuild every block.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startDoor, type Door } from './harness.js';

const TEXT = 'I will check both cities.';
const ARGS = ['{"city":"Paris"}', '{"city":"Rome"}'];
const USAGE = { prompt_tokens: 40, completion_tokens: 31, total_tokens: 71 };

const sse = (events: unknown[], named = false) =>
  events
    .map((e) =>
      e === '[DONE]'
        ? 'data: [DONE]\n\n'
        : `${named ? `event: ${(e as { type: string }).type}\n` : ''}data: ${JSON.stringify(e)}\n\n`,
    )
    .join('');

/** OpenAI's chat stream: content, then calls 0 and 1 with arguments in two fragments each, then usage. */
function openaiStream(): string {
  const chunk = (delta: object, finish: string | null = null) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    // OpenAI's streams carry random padding since 2025 (stream_options.include_obfuscation)
    obfuscation: 'Xq3',
  });
  const events: unknown[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const piece of ['I will check', ' both cities.']) events.push(chunk({ content: piece }));
  ARGS.forEach((args, index) => {
    events.push(
      chunk({
        tool_calls: [
          { index, id: `call_${index}`, type: 'function', function: { name: 'weather', arguments: '' } },
        ],
      }),
    );
    for (const part of [args.slice(0, 5), args.slice(5)])
      events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
  });
  events.push(chunk({}, 'tool_calls'));
  events.push({ ...chunk({}), choices: [], usage: USAGE });
  events.push('[DONE]');
  return sse(events);
}

function openaiWhole(): object {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: TEXT,
          refusal: null,
          tool_calls: ARGS.map((args, i) => ({
            id: `call_${i}`,
            type: 'function',
            function: { name: 'weather', arguments: args },
          })),
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: USAGE,
  };
}

/** Anthropic's Messages stream: a text block, then two tool_use blocks with input_json deltas. */
function anthropicStream(): string {
  const events: unknown[] = [
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 40, output_tokens: 1 },
      },
    },
    { type: 'ping' }, // Anthropic sends these between events
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'I will check' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' both cities.' } },
    { type: 'content_block_stop', index: 0 },
  ];
  ARGS.forEach((args, i) => {
    const index = i + 1;
    events.push({
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: `toolu_${i}`, name: 'weather', input: {} },
    });
    for (const part of ['', args.slice(0, 5), args.slice(5)])
      events.push({
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: part },
      });
    events.push({ type: 'content_block_stop', index });
  });
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 31 },
    },
    { type: 'message_stop' },
  );
  return sse(events, true);
}

function anthropicWhole(): object {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude',
    content: [
      { type: 'text', text: TEXT },
      ...ARGS.map((args, i) => ({
        type: 'tool_use',
        id: `toolu_${i}`,
        name: 'weather',
        input: JSON.parse(args),
      })),
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 40, output_tokens: 31 },
  };
}

/** A backend answering every request with the provider's recorded shape, streamed or whole. */
async function provider(format: 'openai' | 'anthropic'): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const stream = (JSON.parse(body) as { stream?: boolean }).stream === true;
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(format === 'openai' ? openaiStream() : anthropicStream());
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(format === 'openai' ? openaiWhole() : anthropicWhole()));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

async function doorTo(format: 'openai' | 'anthropic'): Promise<{ door: Door; stop(): Promise<void> }> {
  const backend = await provider(format);
  const door = await startDoor({
    instances: [],
    models: () => ({
      m: {
        backends: [
          format === 'openai'
            ? { openai: { base_url: `${backend.url}/v1`, api_key: 'k' } }
            : { anthropic: { base_url: backend.url, api_key: 'k' } },
        ],
        ttftMs: 5000,
        interTokenMs: 5000,
        maxTokensDefault: 64,
      },
    }),
  });
  return {
    door,
    stop: async () => {
      await door.close();
      backend.close();
    },
  };
}

const openaiTools = [
  {
    type: 'function' as const,
    function: {
      name: 'weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];
const anthropicTools = [
  {
    name: 'weather',
    input_schema: {
      type: 'object' as const,
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
];
const ASK = [{ role: 'user' as const, content: 'Weather in Paris and Rome?' }];

test('an Anthropic client gets text and two tool_use blocks from an OpenAI backend’s parallel calls, streamed and not', async () => {
  const { door, stop } = await doorTo('openai');
  try {
    const c = new Anthropic({ apiKey: 'unused', baseURL: door.base, maxRetries: 0 });
    const expect = (m: Anthropic.Message) => {
      assert.equal(m.stop_reason, 'tool_use');
      assert.deepEqual(
        m.content.map((b) =>
          b.type === 'text' ? ['text', b.text] : b.type === 'tool_use' ? [b.name, b.input] : [b.type],
        ),
        [
          ['text', TEXT],
          ['weather', { city: 'Paris' }],
          ['weather', { city: 'Rome' }],
        ],
      );
      const ids = m.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
      assert.equal(new Set(ids).size, 2, 'distinct tool_use ids');
      assert.equal(m.usage.output_tokens, 31);
    };
    expect(await c.messages.create({ model: 'm', max_tokens: 64, messages: ASK, tools: anthropicTools }));
    const stream = c.messages.stream({ model: 'm', max_tokens: 64, messages: ASK, tools: anthropicTools });
    expect(await stream.finalMessage());
    assert.equal(door.rows.at(-1)!.output, 31);
    assert.equal(door.rows.at(-1)!.usageSource, 'reported');
  } finally {
    await stop();
  }
});

test('an OpenAI client gets content and two tool_calls from an Anthropic backend’s text and tool_use blocks, streamed and not', async () => {
  const { door, stop } = await doorTo('anthropic');
  try {
    const c = new OpenAI({ apiKey: 'unused', baseURL: `${door.base}/v1`, maxRetries: 0 });
    const expect = (choice: OpenAI.Chat.Completions.ChatCompletion['choices'][number]) => {
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.content, TEXT);
      const calls = choice.message.tool_calls ?? [];
      assert.deepEqual(
        calls.map((t) =>
          t.type === 'function' ? [t.id, t.function.name, JSON.parse(t.function.arguments)] : [],
        ),
        [
          ['toolu_0', 'weather', { city: 'Paris' }],
          ['toolu_1', 'weather', { city: 'Rome' }],
        ],
      );
    };
    const whole = await c.chat.completions.create({ model: 'm', messages: ASK, tools: openaiTools });
    expect(whole.choices[0]!);
    assert.equal(whole.usage!.completion_tokens, 31);
    const stream = c.chat.completions.stream({ model: 'm', messages: ASK, tools: openaiTools });
    expect((await stream.finalChatCompletion()).choices[0]!);
    assert.equal(door.rows.at(-1)!.output, 31);
  } finally {
    await stop();
  }
});

test('the Responses API returns a message and two function_call items from either backend, streamed and not', async () => {
  for (const format of ['openai', 'anthropic'] as const) {
    const { door, stop } = await doorTo(format);
    try {
      const c = new OpenAI({ apiKey: 'unused', baseURL: `${door.base}/v1`, maxRetries: 0 });
      const tools = [
        {
          type: 'function' as const,
          name: 'weather',
          strict: false,
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ];
      const expect = (r: OpenAI.Responses.Response) => {
        assert.equal(r.status, 'completed', format);
        assert.equal(r.output_text, TEXT, format);
        const calls = r.output.flatMap((o) =>
          o.type === 'function_call' ? [[o.name, JSON.parse(o.arguments)]] : [],
        );
        assert.deepEqual(
          calls,
          [
            ['weather', { city: 'Paris' }],
            ['weather', { city: 'Rome' }],
          ],
          format,
        );
      };
      expect(await c.responses.create({ model: 'm', input: 'Weather in Paris and Rome?', tools }));
      const stream = c.responses.stream({ model: 'm', input: 'Weather in Paris and Rome?', tools });
      expect(await stream.finalResponse());
    } finally {
      await stop();
    }
  }
});
