/** `luascale up [-c luascale.yaml]`: runs the gateway, the control loops and the admin listener. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { startApp } from '../../app/luascale-app.js';

/** A log line with a wall-clock time, for people reading a terminal. */
export function stamp(line: string): string {
  return `${new Date().toISOString().slice(11, 23)} ${line}\n`;
}

/** Registers `up`. */
export function register(program: Command): void {
  program
    .command('up')
    .description('Run the gateway, the controllers and the admin API from a config file')
    .option('-c, --config <file>', 'configuration file', 'luascale.yaml')
    .addHelpText(
      'after',
      '\nSIGTERM or Ctrl-C: stop accepting, finish in-flight requests (gateway.drain_timeout; event streams and\n' +
        'other connections still open then are closed), stop instances, exit 0. A second Ctrl-C exits at once.\n' +
        'The log shows scaling decisions, instances, alerts, policy reloads, overrides and pauses.\n' +
        'Exit codes: 0 clean stop, 1 bad config (also a non-loopback admin.listen without admin.token, a\n' +
        'listen host that does not resolve, admin.listen equal to gateway.listen: checked before anything\n' +
        'listens) or a port in use (one line naming the key and the address; nothing is started).',
    )
    .action(async (opts: { config: string }) => {
      const loaded = loadConfig(opts.config);
      const app = await startApp(loaded, { log: (l) => process.stdout.write(stamp(l)) });
      process.stdout.write(stamp(`gateway on ${app.gatewayUrl}, admin API and dashboard on ${app.adminUrl}`));
      process.stdout.write(
        stamp(`services: ${[...app.controllers.keys()].join(', ')}; press Ctrl-C to stop`),
      );
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            process.stdout.write(stamp(`${signal} again: exiting now`));
            process.exit(130);
          }
          stopping = true;
          process.stdout.write(stamp(`${signal}: draining in-flight requests and stopping instances`));
          app.close().then(done, (err) => {
            process.stderr.write(stamp(`shutdown error: ${(err as Error).message}`));
            done();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
      process.stdout.write(stamp('stopped'));
    });
}
