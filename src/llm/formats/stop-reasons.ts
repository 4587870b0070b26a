/**
 * OpenAI's `finish_reason` and Anthropic's `stop_reason`, mapped both ways.
 *
 * | OpenAI           | Anthropic                      |
 * |------------------|--------------------------------|
 * | `stop`           | `end_turn` (or `stop_sequence`) |
 * | `length`         | `max_tokens`                   |
 * | `tool_calls`     | `tool_use`                     |
 * | `content_filter` | `refusal`                      |
 *
 * OpenAI does not say which stop sequence ended a completion, so `stop` becomes `end_turn`;
 * Anthropic's `pause_turn` (a server tool paused) reads as `stop`.
 */

/** An OpenAI finish reason as an Anthropic stop reason. */
export function finishToStopReason(finish: unknown): string {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** An Anthropic stop reason as an OpenAI finish reason. */
export function stopReasonToFinish(stop: unknown): string {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}
