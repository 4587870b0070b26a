/** A typed listener registry: the small subset of EventEmitter that providers need. */

/** Keeps listeners per event; a throwing listener is reported, never breaks the emitter. */
export class Listeners<E extends { [K in keyof E]: (...args: any[]) => void }> {
  readonly #byEvent = new Map<keyof E, Set<E[keyof E]>>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(
    onListenerError: (err: unknown) => void = (err) =>
      queueMicrotask(() => {
        throw err;
      }),
  ) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.#byEvent.get(event);
    if (!set) this.#byEvent.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Calls every listener of `event` with `args`. */
  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    for (const listener of [...(this.#byEvent.get(event) ?? [])]) {
      try {
        (listener as (...a: Parameters<E[K]>) => void)(...args);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}
