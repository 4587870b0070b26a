/**
 * `ctx.history` across threads. The history is a main-thread object and a policy calls it
 * synchronously, so the worker posts the request on a MessagePort and blocks in `Atomics.wait`
 * until the main thread (idle, awaiting the batch) has posted the answer and set a flag. Each
 * call is a round trip (~50 µs); policies that never call history() pay nothing.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { emptyHistory, type HistoryReader } from '../policy/policy.js';

/** A history() call of item `item` of the batch being evaluated. */
export interface HistoryRequest {
  id: number;
  item: number;
  metric: string;
  seconds: number;
  now: number;
}

/** The channel of the bridge: a port, and a flag (Int32 [0]) the answering side sets to 1. */
export interface HistoryChannel {
  port: MessagePort;
  signal: Int32Array;
}

const SIGNAL = 0;
let historyId = 0;

/** Worker side: a HistoryReader for item `item` that asks the main thread and blocks until it answers. */
export function historyBridge(
  channel: HistoryChannel & { historyWaitMs: number },
  item: number,
  step: number,
): HistoryReader {
  const { port, signal, historyWaitMs } = channel;
  return {
    stepSeconds: step,
    series(metric, seconds, now) {
      const id = ++historyId;
      Atomics.store(signal, SIGNAL, 0);
      port.postMessage({ id, item, metric, seconds, now } satisfies HistoryRequest);
      const deadline = Date.now() + historyWaitMs;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`history(${metric}): no answer from the main thread in ${historyWaitMs} ms`);
        if (Atomics.load(signal, SIGNAL) === 0) Atomics.wait(signal, SIGNAL, 0, left);
        let reply = receiveMessageOnPort(port);
        while (reply && (reply.message as { id: number }).id !== id) reply = receiveMessageOnPort(port);
        if (reply) {
          const { values, error } = reply.message as { values: number[]; error?: string };
          if (error) throw new Error(`history(${metric}): ${error}`);
          return values;
        }
        // Flag set but the message not visible yet (or a stale answer): poll every millisecond.
        if (Atomics.load(signal, SIGNAL) === 1) Atomics.wait(signal, SIGNAL, 1, 1);
      }
    },
  };
}

/** Main-thread side: answers `req` from `reader` (the batch item's history), then sets the flag. */
export function answerHistory(
  channel: HistoryChannel,
  req: HistoryRequest,
  reader: HistoryReader = emptyHistory,
): void {
  let values: number[] = [];
  let error: string | undefined;
  try {
    values = Array.from(reader.series(req.metric, req.seconds, req.now));
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  channel.port.postMessage({ id: req.id, values, error });
  Atomics.store(channel.signal, SIGNAL, 1);
  Atomics.notify(channel.signal, SIGNAL);
}
