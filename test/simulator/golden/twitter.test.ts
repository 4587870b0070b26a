// Golden simulate run on the Twitter per-minute trace at scale 1 (golden-case.ts).
import { goldenCase } from './golden-case.js';

goldenCase('twitter-stream-2021-08-per-minute');
