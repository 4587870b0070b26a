/** Entry point of a gateway cluster worker (forked by cluster-primary.ts). */
import { runGatewayWorker } from './cluster-worker.js';

await runGatewayWorker();
