/**
 * A KV cache of fixed-size blocks with prefix reuse, as vLLM's (and llm-d-inference-sim's,
 * docs/kv-cache.md): a prompt's full blocks are named by a hash chained over the blocks before
 * them, so two prompts share a block only when everything before it is equal too.
 *
 * Block states: free → in use (held by a running sequence; anonymous until its prompt block is
 * computed, then named) → cached (named, no holder, still reusable) → evicted (LRU, when a new
 * block needs the room). Usage, as vLLM's `kv_cache_usage_perc`, counts blocks in use only:
 * cached blocks without a holder are free memory that happens to still hold a prefix.
 */
import { createHash } from 'node:crypto';

/** What a sequence holds while it runs. */
export interface KvLease {
  /** Named blocks it holds (prefix hits, then its own prompt blocks once computed). */
  named: string[];
  /** Its unnamed blocks (the rest of the prompt and the output). */
  anonymous: number;
  /** Its full prompt blocks that were not hits: named when its prefill completes. */
  pending: string[];
  /** Prompt tokens found in the cache. */
  cachedTokens: number;
}

/** The cache's counters and gauges. */
export interface KvSnapshot {
  totalBlocks: number;
  blockSize: number;
  usedBlocks: number;
  cachedBlocks: number;
  /** usedBlocks / totalBlocks (0..1). */
  usage: number;
  /** Prompt tokens looked up (vLLM `prefix_cache_queries`). */
  queries: number;
  /** Of those, tokens found (vLLM `prefix_cache_hits`). */
  hits: number;
}

/** The block hashes of a prompt's full blocks, each chained over the one before it. */
export function blockHashes(tokens: readonly number[], blockSize: number): string[] {
  const hashes: string[] = [];
  let previous = '';
  for (let end = blockSize; end <= tokens.length; end += blockSize) {
    previous = createHash('sha256')
      .update(previous)
      .update(tokens.slice(end - blockSize, end).join(','))
      .digest('base64url')
      .slice(0, 22);
    hashes.push(previous);
  }
  return hashes;
}

/** A KV cache of `totalBlocks` blocks of `blockSize` tokens. */
export class KvCache {
  readonly totalBlocks: number;
  readonly blockSize: number;
  /** Named blocks, least recently used first (Map order), with their holder counts. */
  private readonly named = new Map<string, number>();
  private anonymous = 0;
  private heldNamed = 0;
  private queries = 0;
  private hits = 0;

  constructor(options: { totalBlocks: number; blockSize: number }) {
    this.totalBlocks = options.totalBlocks;
    this.blockSize = options.blockSize;
  }

  /** Blocks a sequence of `tokens` tokens needs in all. */
  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  /** Prompt tokens of `prompt` the cache holds now (its leading named blocks), without counting a query. */
  cachedPrefixTokens(prompt: readonly number[]): number {
    let n = 0;
    for (const h of blockHashes(prompt, this.blockSize)) {
      if (!this.named.has(h)) break;
      n++;
    }
    return n * this.blockSize;
  }

  /**
   * Reserves blocks for a sequence of `prompt` plus `outputTokens`, reusing its cached prefix;
   * undefined when the free blocks do not suffice (the sequence waits). Counts a prefix query.
   */
  acquire(prompt: readonly number[], outputTokens: number): KvLease | undefined {
    const hashes = blockHashes(prompt, this.blockSize);
    let hitCount = 0;
    while (hitCount < hashes.length && this.named.has(hashes[hitCount]!)) hitCount++;
    // vLLM never serves the whole prompt from cache: the last token is recomputed for its logits.
    if (hitCount * this.blockSize >= prompt.length && hitCount > 0) hitCount--;
    const hitHashes = hashes.slice(0, hitCount);
    const newlyHeld = hitHashes.filter((h) => this.named.get(h) === 0).length;
    const fresh = this.blocksFor(prompt.length + outputTokens) - hitCount;
    if (this.usedBlocks() + newlyHeld + fresh > this.totalBlocks) return undefined;
    for (const h of hitHashes) this.hold(h);
    this.anonymous += fresh;
    this.evictOverflow();
    this.queries += prompt.length;
    this.hits += hitCount * this.blockSize;
    return {
      named: hitHashes,
      anonymous: fresh,
      pending: hashes.slice(hitCount),
      cachedTokens: hitCount * this.blockSize,
    };
  }

  /** The prefill of a lease's prompt is done: its full prompt blocks become named, reusable. */
  commitPrompt(lease: KvLease): void {
    for (const h of lease.pending) {
      if (lease.anonymous === 0) break;
      lease.anonymous--;
      this.anonymous--;
      if (this.named.has(h)) {
        // Computed concurrently by another sequence: share that block, free our copy.
        this.hold(h);
      } else {
        this.named.set(h, 1);
        this.heldNamed++;
      }
      lease.named.push(h);
    }
    lease.pending = [];
  }

  /** The sequence ended: its anonymous blocks are freed, its named blocks stay cached. */
  release(lease: KvLease): void {
    for (const h of lease.named) {
      const holders = this.named.get(h);
      if (holders === undefined) continue;
      this.named.set(h, holders - 1);
      if (holders === 1) this.heldNamed--;
    }
    this.anonymous -= lease.anonymous;
    lease.named = [];
    lease.anonymous = 0;
    lease.pending = [];
  }

  /** Blocks held by running sequences. */
  usedBlocks(): number {
    return this.anonymous + this.heldNamed;
  }

  /** Gauges and counters for /metrics. */
  snapshot(): KvSnapshot {
    const used = this.usedBlocks();
    return {
      totalBlocks: this.totalBlocks,
      blockSize: this.blockSize,
      usedBlocks: used,
      cachedBlocks: this.named.size,
      usage: used / this.totalBlocks,
      queries: this.queries,
      hits: this.hits,
    };
  }

  private hold(h: string): void {
    const holders = this.named.get(h)!;
    if (holders === 0) this.heldNamed++;
    // Re-insert: most recently used moves to the end of the LRU order.
    this.named.delete(h);
    this.named.set(h, holders + 1);
  }

  /** Evicts unheld named blocks, least recently used first, while the blocks exceed the cache. */
  private evictOverflow(): void {
    let excess = this.anonymous + this.named.size - this.totalBlocks;
    if (excess <= 0) return;
    for (const [h, holders] of this.named) {
      if (excess <= 0) break;
      if (holders > 0) continue;
      this.named.delete(h);
      excess--;
    }
  }
}
