// Golden simulate run on the NASA per-minute trace at scale 1 (golden-case.ts).
import { goldenCase } from './golden-case.js';

goldenCase('nasa-1995-07-per-minute');
