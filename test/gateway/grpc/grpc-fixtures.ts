/** gRPC servers and clients for the gateway's gRPC tests: @grpc/grpc-js with raw-bytes messages (no .proto needed). */
import * as grpc from '@grpc/grpc-js';

const id = (b: Buffer): Buffer => b;

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/demo.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  };
}

/** demo.Echo: Unary answers the instance name; Fail ends NOT_FOUND with a trailer; Slow waits; Bidi echoes. */
export const ECHO = {
  Unary: method('Unary', false, false),
  Fail: method('Fail', false, false),
  Slow: method('Slow', false, false),
  Bidi: method('Bidi', true, true),
  Limited: method('Limited', false, false),
} as const;

/** grpc.health.v1.Health with raw bytes. */
const HEALTH = { Check: { ...method('Check', false, false), path: '/grpc.health.v1.Health/Check' } };

/** A client of demo.Echo. */
export const EchoClient = grpc.makeGenericClientConstructor(
  ECHO as unknown as grpc.ServiceDefinition,
  'Echo',
);

/** A running demo.Echo server. */
export interface EchoServer {
  name: string;
  url: string;
  /** Calls served, by method. */
  served: Record<string, number>;
  /** Slow calls the client (or the gateway) cancelled. */
  cancelled: number;
  /** Called on every Unary call. */
  onCall: () => void;
  /** What grpc.health.v1.Health/Check answers (SERVING by default). */
  serving: boolean;
  close(): Promise<void>;
}

/** Starts a demo.Echo server named `name` on a loopback port (h2c). */
export async function startEchoServer(name: string): Promise<EchoServer> {
  const server = new grpc.Server();
  const served: Record<string, number> = {};
  const count = (m: string): void => void (served[m] = (served[m] ?? 0) + 1);
  const state = { cancelled: 0 };
  server.addService(ECHO as unknown as grpc.ServiceDefinition, {
    Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      count('Unary');
      ret.onCall();
      cb(null, Buffer.from(name));
    },
    Limited(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      count('Limited');
      cb(null, Buffer.from(name));
    },
    Fail(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      count('Fail');
      const md = new grpc.Metadata();
      md.set('x-why', 'testing');
      cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: é', metadata: md });
    },
    Slow(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      count('Slow');
      const t = setTimeout(() => cb(null, Buffer.from('late')), 5000);
      call.on('cancelled', () => {
        state.cancelled++;
        clearTimeout(t);
      });
    },
    Bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      count('Bidi');
      call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from(`${name}:`), b])));
      call.on('end', () => {
        const md = new grpc.Metadata();
        md.set('x-count', String(served.Bidi));
        call.end(md);
      });
    },
  });
  server.addService(HEALTH as unknown as grpc.ServiceDefinition, {
    Check(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      // HealthCheckResponse { status: SERVING (1) | NOT_SERVING (2) }
      cb(null, Buffer.from([0x08, ret.serving ? 1 : 2]));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const ret: EchoServer = {
    name,
    serving: true,
    onCall: () => {},
    url: `http://127.0.0.1:${port}`,
    served,
    get cancelled() {
      return state.cancelled;
    },
    close: () =>
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
  return ret;
}

/** One unary call; resolves with the reply or the error. */
export function unary(
  client: grpc.Client,
  name: 'Unary' | 'Fail' | 'Slow' | 'Limited',
  options: grpc.CallOptions = {},
): Promise<{ reply?: Buffer; error?: grpc.ServiceError }> {
  const c = client as unknown as Record<
    string,
    (
      b: Buffer,
      md: grpc.Metadata,
      o: grpc.CallOptions,
      cb: (e: grpc.ServiceError | null, r?: Buffer) => void,
    ) => void
  >;
  return new Promise((resolve) =>
    c[name]!.call(client, Buffer.from('hi'), new grpc.Metadata(), options, (error, reply) =>
      resolve(error ? { error } : { reply }),
    ),
  );
}
