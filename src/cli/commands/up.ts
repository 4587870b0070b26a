/** `luascale up [-c luascale.yaml]`: runs the gateway, the control loops and the admin listener. */
import type { Command } from 'commander';

/** A log line with a wall-clock time, for people reading a terminal. */
export function stamp(line: string): string {
  return `${new Date().toISOString().slice(11, 23)} ${line}\n`;
}

/**
 * Calls `onGone` once the parent process has exited, seen as `process.ppid` changing (an orphan
 * is re-parented to init or a subreaper). Polled every `intervalMs` on an unref'd timer, so it
 * never keeps the process alive; returns the function that stops watching. `parent` is the pid seen
 * first (default: now).
 */
export function watchParent(
  onGone: () => void,
  options: { intervalMs?: number; ppid?: () => number; parent?: number } = {},
): () => void {
  const ppid = options.ppid ?? (() => process.ppid);
  const first = options.parent ?? ppid();
  const timer = setInterval(() => {
    if (ppid() === first) return;
    clearInterval(timer);
    onGone();
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Started by a package runner (`npx`, `npm exec`, `npm run`, yarn, pnpm: they set npm_execpath),
 * luascale runs under `npm → sh → node`, and a SIGTERM to the runner (a service manager, a
 * container runtime) ends npm and the shell but never reaches this process. Its parent going away
 * is then the stop signal. Not otherwise: `nohup luascale up &` must outlive the shell it left.
 */
export function startedByPackageRunner(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.npm_execpath);
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
        'Started through npx, npm exec or npm run, it stops the same way when that parent process exits.\n' +
        'The log shows scaling decisions, instances, alerts, policy reloads, overrides and pauses.\n' +
        'Exit codes: 0 clean stop, 1 bad config (also a non-loopback admin.listen without admin.token, a\n' +
        'listen host that does not resolve, admin.listen equal to gateway.listen: checked before anything\n' +
        'listens) or a port in use (one line naming the key and the address; nothing is started).',
    )
    .action(async (opts: { config: string }) => {
      // Read before the start, which takes a while: a parent gone meanwhile is noticed too.
      const parent = process.ppid;
      // The config loader and the app load here, when `up` runs, not when the program is built.
      const [{ loadConfig }, { startApp }] = await Promise.all([
        import('../../config/load-config.js'),
        import('../../app/luascale-app.js'),
      ]);
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
          unwatch();
          process.stdout.write(stamp(`${signal}: draining in-flight requests and stopping instances`));
          app.close().then(done, (err) => {
            process.stderr.write(stamp(`shutdown error: ${(err as Error).message}`));
            done();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        const unwatch = startedByPackageRunner()
          ? watchParent(() => stop(`parent process (pid ${parent}) exited`), { parent })
          : () => {};
        process.on('SIGINT', () => stop('SIGINT'));
      });
      process.stdout.write(stamp('stopped'));
    });
}
