/**
 * The hand-off from the AI front door to the llm balancer: the front door, once it has parsed a
 * request's body, calls `routePrompt(req, prompt)` with the request object and the prompt (text, or
 * token ids when it counted them already); the pick stage passes the request object on in the
 * pick context, and the balancer finds the prompt's block chain here. A WeakMap, so nothing
 * outlives the request.
 */
import { DEFAULT_BLOCK_TOKENS, prefixChain } from './prefix-index.js';

const chains = new WeakMap<object, Uint32Array>();

/**
 * Registers the prompt of request `req` for prefix-affine routing (call before the pick stage runs;
 * cheap when given token ids). Returns the block chain, also usable as `PickContext.prefix`.
 */
export function routePrompt(
  req: object,
  prompt: string | readonly number[],
  blockTokens = DEFAULT_BLOCK_TOKENS,
): Uint32Array {
  const chain = prefixChain(prompt, blockTokens);
  chains.set(req, chain);
  return chain;
}

/** The block chain registered for `req`, if any. */
export function promptPrefixOf(req: object | undefined): Uint32Array | undefined {
  return req === undefined ? undefined : chains.get(req);
}
