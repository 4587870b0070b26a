// Golden simulate runs on the Azure LLM per-second trace, at scale 1 and 30 (golden-case.ts).
import { goldenCase } from './golden-case.js';

goldenCase('azure-llm-code-2023-11-16-1h-per-second');
goldenCase('azure-llm-code-2023-11-16-1h-per-second', 30);
