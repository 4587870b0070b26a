/**
 * Store writes in order: an async store must not see a remove before the upsert it follows. A
 * synchronous store (SQLite) is written at once when nothing is queued, so a record is durable
 * before `launch()` returns and a kill -9 right after cannot orphan the instance.
 */
export class OrderedWrites {
  readonly #onError: (err: unknown, context: string) => void;
  #chain: Promise<void> = Promise.resolve();
  /** Writes started or queued and not yet settled. */
  #busy = 0;

  /** `onError` receives every failed write with its context; a write never rejects the chain. */
  constructor(onError: (err: unknown, context: string) => void) {
    this.#onError = onError;
  }

  /** Runs `write` now when nothing is queued, else after the queued ones. */
  run(write: () => void | Promise<void>, context: string): void {
    const run = (): void | Promise<void> => {
      try {
        return write();
      } catch (err) {
        this.#onError(err, context);
      }
    };
    const settle = (p: Promise<void>) =>
      p.catch((err) => this.#onError(err, context)).finally(() => void this.#busy--);
    if (this.#busy === 0) {
      const result = run();
      if (!(result instanceof Promise)) return;
      this.#busy++;
      this.#chain = settle(result);
      return;
    }
    this.#busy++;
    this.#chain = settle(this.#chain.then(run));
  }

  /** Resolves once every write queued so far has settled. */
  settled(): Promise<void> {
    return this.#chain;
  }
}
