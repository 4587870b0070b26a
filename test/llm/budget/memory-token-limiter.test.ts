import { MemoryTokenLimiter } from '../../../src/llm/budget/memory-token-limiter.js';
import { tokenLimiterContract } from './token-limiter-contract.js';

tokenLimiterContract('MemoryTokenLimiter', async (consumers) => new MemoryTokenLimiter({ consumers }));
