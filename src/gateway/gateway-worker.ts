/** Entry point of a gateway cluster worker (forked by start-gateway.ts). */
import { runGatewayWorker } from './start-gateway.js';

await runGatewayWorker();
