/**
 * Tool calling end to end through the front door with the official clients (openai 6.x,
 * @anthropic-ai/sdk) against llm-sim, which answers a request with tools with one deterministic
 * call: each client format against each backend format, streaming and not. The client gets a
 * well-formed call (the name, the arguments llm-sim made, its id) with the finish/stop reason of
 * its own format, sends the tool result back under that id and gets text; the ledger's usage is
 * llm-sim's. The same through the Responses API: a `function_call` output item (streamed as
 * `response.function_call_arguments.delta` events), then a `function_call_output` input item.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { instancesModel, startDoor, type Door } from './harness.js';
import type { LlmSimRequestRecord } from '../../../src/llm-sim/index.js';

const openai = (d: Door) => new OpenAI({ apiKey: 'unused', baseURL: `${d.base}/v1`, maxRetries: 0 });
const anthropic = (d: Door) => new Anthropic({ apiKey: 'unused', baseURL: d.base, maxRetries: 0 });

const schema = {
  type: 'object' as const,
  properties: {
    city: { type: 'string' },
    days: { type: 'integer' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    exact: { type: 'boolean' },
  },
  required: ['city', 'days', 'unit', 'exact'],
};
const ASK = 'What is the weather in Oslo?';

async function withDoor(format: 'openai' | 'anthropic', run: (door: Door) => Promise<void>): Promise<void> {
  const door = await startDoor({
    instances: [{ api: format }],
    models: () => ({ m: instancesModel(format) }),
  });
  try {
    await run(door);
  } finally {
    await door.close();
  }
}

/** llm-sim's record of the last request, and the ledger's last row agreeing with it. */
function lastCall(door: Door): LlmSimRequestRecord {
  const rec = door.sims[0]!.stats().requests.at(-1)!;
  const row = door.rows.at(-1)!;
  assert.equal(row.usageSource, 'reported');
  assert.equal(row.input, rec.promptTokens);
  assert.equal(row.output, rec.completionTokens);
  return rec;
}

for (const backend of ['openai', 'anthropic'] as const) {
  for (const stream of [false, true]) {
    const how = stream ? 'streamed' : 'whole';
    test(`OpenAI client, ${backend}-format backend, ${how}: a tool call, finish_reason tool_calls, then text after the result`, async () => {
      await withDoor(backend, async (door) => {
        const c = openai(door);
        const body = {
          model: 'm',
          max_tokens: 64,
          messages: [{ role: 'user' as const, content: ASK }],
          tools: [{ type: 'function' as const, function: { name: 'get_weather', parameters: schema } }],
        };
        let message: OpenAI.Chat.Completions.ChatCompletionMessage;
        let finish: string | null;
        if (stream) {
          let pieces = 0;
          const s = c.chat.completions.stream({ ...body, stream: true });
          for await (const chunk of s)
            if (chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments) pieces++;
          const done = await s.finalChatCompletion();
          message = done.choices[0]!.message;
          finish = done.choices[0]!.finish_reason;
          assert.ok(pieces > 1, `the arguments came in ${pieces} chunks`);
        } else {
          const done = await c.chat.completions.create(body);
          message = done.choices[0]!.message;
          finish = done.choices[0]!.finish_reason;
        }
        const sim = lastCall(door);
        assert.ok(sim.toolCall, 'llm-sim made a call');
        assert.equal(finish, 'tool_calls');
        assert.equal(message.tool_calls?.length, 1);
        const call = message.tool_calls![0]!;
        assert.equal(call.type, 'function');
        if (call.type !== 'function') return;
        assert.equal(call.id, sim.toolCall.id);
        assert.equal(call.function.name, 'get_weather');
        assert.deepEqual(JSON.parse(call.function.arguments), JSON.parse(sim.toolCall.arguments));
        assert.ok(!message.content, 'no text beside the call');

        const follow = {
          ...body,
          messages: [
            ...body.messages,
            { role: 'assistant' as const, content: null, tool_calls: [call] },
            { role: 'tool' as const, tool_call_id: call.id, content: '{"temp": 3}' },
          ],
        };
        let text = '';
        if (stream) {
          const s = c.chat.completions.stream({ ...follow, stream: true });
          for await (const chunk of s) text += chunk.choices[0]?.delta.content ?? '';
          finish = (await s.finalChatCompletion()).choices[0]!.finish_reason;
        } else {
          const done = await c.chat.completions.create(follow);
          text = done.choices[0]!.message.content ?? '';
          finish = done.choices[0]!.finish_reason;
        }
        const after = lastCall(door);
        assert.equal(after.toolCall, undefined);
        assert.match(after.text, /\w/);
        assert.equal(text, after.text);
        assert.notEqual(finish, 'tool_calls');
      });
    });

    test(`Anthropic client, ${backend}-format backend, ${how}: a tool_use block, stop_reason tool_use, then text after the tool_result`, async () => {
      await withDoor(backend, async (door) => {
        const c = anthropic(door);
        const body = {
          model: 'm',
          max_tokens: 64,
          messages: [{ role: 'user' as const, content: ASK }],
          tools: [{ name: 'get_weather', description: 'weather', input_schema: schema }],
        };
        let msg: Anthropic.Message;
        if (stream) {
          let pieces = 0;
          const s = c.messages.stream(body);
          s.on('inputJson', () => pieces++);
          msg = await s.finalMessage();
          assert.ok(pieces > 1, `the input came in ${pieces} deltas`);
        } else msg = await c.messages.create(body);
        const sim = lastCall(door);
        assert.ok(sim.toolCall, 'llm-sim made a call');
        assert.equal(msg.stop_reason, 'tool_use');
        const uses = msg.content.filter((b) => b.type === 'tool_use');
        assert.equal(uses.length, 1);
        assert.equal(msg.content.length, 1, 'no text beside the call');
        const use = uses[0]!;
        assert.equal(use.id, sim.toolCall.id);
        assert.equal(use.name, 'get_weather');
        assert.deepEqual(use.input, JSON.parse(sim.toolCall.arguments));

        const follow = {
          ...body,
          messages: [
            ...body.messages,
            { role: 'assistant' as const, content: [use] },
            {
              role: 'user' as const,
              content: [{ type: 'tool_result' as const, tool_use_id: use.id, content: '{"temp": 3}' }],
            },
          ],
        };
        const answer = stream
          ? await c.messages.stream(follow).finalMessage()
          : await c.messages.create(follow);
        const after = lastCall(door);
        assert.equal(after.toolCall, undefined);
        assert.match(after.text, /\w/);
        assert.notEqual(answer.stop_reason, 'tool_use');
        assert.deepEqual(
          answer.content.filter((b) => b.type === 'text').map((b) => (b as Anthropic.TextBlock).text),
          [after.text],
        );
      });
    });
  }
}

for (const backend of ['openai', 'anthropic'] as const) {
  for (const stream of [false, true]) {
    const how = stream ? 'streamed' : 'whole';
    test(`Responses API, ${backend}-format backend, ${how}: a function_call item, then text after the function_call_output`, async () => {
      await withDoor(backend, async (door) => {
        const c = openai(door);
        const body = {
          model: 'm',
          max_output_tokens: 64,
          input: ASK,
          tools: [{ type: 'function' as const, name: 'get_weather', parameters: schema, strict: false }],
        };
        let response: OpenAI.Responses.Response;
        if (stream) {
          const s = c.responses.stream(body);
          const types: string[] = [];
          let deltas = '';
          let done = '';
          for await (const ev of s) {
            types.push(ev.type);
            if (ev.type === 'response.function_call_arguments.delta') deltas += ev.delta;
            if (ev.type === 'response.function_call_arguments.done') done = ev.arguments;
          }
          response = await s.finalResponse();
          assert.ok(types.filter((t) => t === 'response.function_call_arguments.delta').length > 1);
          assert.ok(types.includes('response.output_item.added'));
          assert.equal(deltas, done);
          assert.equal(types.at(-1), 'response.completed');
        } else response = await c.responses.create(body);
        const sim = lastCall(door);
        assert.ok(sim.toolCall, 'llm-sim made a call');
        assert.equal(response.status, 'completed');
        const calls = response.output.filter((o) => o.type === 'function_call');
        assert.equal(calls.length, 1);
        assert.equal(response.output.length, 1, 'no message beside the call');
        const call = calls[0]!;
        assert.equal(call.call_id, sim.toolCall.id);
        assert.equal(call.name, 'get_weather');
        assert.deepEqual(JSON.parse(call.arguments), JSON.parse(sim.toolCall.arguments));
        assert.equal(response.output_text, '');

        const follow = {
          ...body,
          input: [
            { role: 'user' as const, content: ASK },
            call,
            { type: 'function_call_output' as const, call_id: call.call_id, output: '{"temp": 3}' },
          ],
        };
        const answer = stream
          ? await c.responses.stream(follow).finalResponse()
          : await c.responses.create(follow);
        const after = lastCall(door);
        assert.equal(after.toolCall, undefined);
        assert.match(after.text, /\w/);
        assert.equal(answer.output_text, after.text);
        assert.equal(answer.output.filter((o) => o.type === 'function_call').length, 0);
      });
    });
  }
}

for (const backend of ['openai', 'anthropic'] as const) {
  test(`Anthropic client, ${backend}-format backend: a user turn of an is_error tool_result (text blocks) and more text gets text`, async () => {
    await withDoor(backend, async (door) => {
      const c = anthropic(door);
      const body = {
        model: 'm',
        max_tokens: 64,
        messages: [{ role: 'user' as const, content: ASK }],
        tools: [{ name: 'get_weather', input_schema: schema }],
      };
      const first = await c.messages.create(body);
      const use = first.content.find((b) => b.type === 'tool_use')!;
      const answer = await c.messages.create({
        ...body,
        messages: [
          ...body.messages,
          { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, use] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: use.id,
                is_error: true,
                content: [{ type: 'text', text: 'down' }],
              },
              { type: 'text', text: 'Guess, then.' },
            ],
          },
        ],
      });
      const after = lastCall(door);
      assert.equal(after.toolCall, undefined);
      assert.equal(answer.stop_reason, 'end_turn');
      assert.deepEqual(answer.content, [{ type: 'text', text: after.text }]);
    });
  });
}
