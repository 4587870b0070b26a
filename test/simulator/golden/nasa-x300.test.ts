// Golden simulate run on the NASA per-minute trace at scale 300 (golden-case.ts).
import { goldenCase } from './golden-case.js';

goldenCase('nasa-1995-07-per-minute', 300);
