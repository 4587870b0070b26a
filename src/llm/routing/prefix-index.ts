/**
 * Prefix affinity for the llm balancer: a prompt is cut into fixed-size token blocks and each block
 * is named by a hash chained over every block before it (as vLLM's and llm-d-inference-sim's KV
 * cache name their blocks, and the llm-d router's approximate prefix scorer, GIE proposal 0602),
 * so two prompts share block i only when their first (i+1)·B tokens are equal. The index remembers
 * which instances served which block, in bounded memory: at most `capacity` blocks, least recently
 * used evicted first, at most `perBlock` instances per block (the most recent kept).
 *
 * A hit is only a hint: an instance may have evicted the block since. That costs one cache miss,
 * never a wrong answer.
 */
import { encodeText } from '../../llm-sim/tokenizer.js';

/** Tokens per block (vLLM's and llm-sim's default KV block size). */
export const DEFAULT_BLOCK_TOKENS = 16;

/**
 * The chained 32-bit hashes of a prompt's full blocks: entry i names tokens [0, (i+1)·B). A text
 * is tokenized with gpt-tokenizer (o200k_base, as llm-sim and the budgets count); pass the token
 * ids when the caller has them already. A partial last block is not hashed (an engine caches only
 * full blocks).
 */
export function prefixChain(
  prompt: string | readonly number[],
  blockTokens = DEFAULT_BLOCK_TOKENS,
): Uint32Array {
  const tokens = typeof prompt === 'string' ? encodeText(prompt) : prompt;
  const n = Math.floor(tokens.length / blockTokens);
  const out = new Uint32Array(n);
  let h = 0x811c9dc5;
  for (let b = 0; b < n; b++) {
    // FNV-1a over 32-bit words, seeded with the previous block's hash, then murmur3's fmix32 so
    // nearby prompts spread over the whole range
    for (let i = b * blockTokens, end = i + blockTokens; i < end; i++)
      h = Math.imul(h ^ tokens[i]!, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[b] = h >>> 0;
  }
  return out;
}

/** Which instances served which block chains, least recently used evicted first. */
export class PrefixIndex {
  readonly capacity: number;
  readonly perBlock: number;
  // Map order is recency: a touched block is deleted and set again (the last is the newest).
  readonly #blocks = new Map<number, string[]>();

  constructor(options: { capacity?: number; perBlock?: number } = {}) {
    this.capacity = options.capacity ?? 65_536;
    this.perBlock = options.perBlock ?? 4;
    if (!(this.capacity >= 1 && this.perBlock >= 1))
      throw new RangeError('PrefixIndex: capacity and perBlock must be >= 1');
  }

  /** Blocks remembered. */
  get size(): number {
    return this.#blocks.size;
  }

  /**
   * For each instance, how many leading blocks of `chain` it served (written into `out`, which is
   * cleared first); returns the longest match. Stops at the first block nobody served.
   */
  match(chain: Uint32Array, out: Map<string, number>): number {
    out.clear();
    let best = 0;
    for (let i = 0; i < chain.length; i++) {
      const ids = this.#blocks.get(chain[i]!);
      if (ids === undefined) break;
      let any = false;
      for (const id of ids) {
        if ((out.get(id) ?? 0) === i) {
          out.set(id, i + 1);
          any = true;
        }
      }
      if (!any) break;
      best = i + 1;
    }
    return best;
  }

  /** `id` served `chain`: its blocks become the most recent, evicting the oldest beyond capacity. */
  record(chain: Uint32Array, id: string): void {
    const blocks = this.#blocks;
    for (let i = 0; i < chain.length; i++) {
      const h = chain[i]!;
      let ids = blocks.get(h);
      if (ids === undefined) ids = [id];
      else {
        blocks.delete(h);
        const at = ids.indexOf(id);
        if (at !== ids.length - 1) {
          if (at >= 0) ids.splice(at, 1);
          ids.push(id);
          if (ids.length > this.perBlock) ids.shift();
        }
      }
      blocks.set(h, ids);
    }
    while (blocks.size > this.capacity) blocks.delete(blocks.keys().next().value!);
  }

  /** Forgets an instance (it left the pool): its blocks no longer attract requests. */
  forget(id: string): void {
    for (const [h, ids] of this.#blocks) {
      const at = ids.indexOf(id);
      if (at < 0) continue;
      if (ids.length === 1) this.#blocks.delete(h);
      else ids.splice(at, 1);
    }
  }
}
