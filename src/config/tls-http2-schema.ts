/** `gateway.http2`, `gateway.tls` and a service's `upstream.protocol` / `upstream.tls` (issue 21). */
import { Type } from '@sinclair/typebox';
import { Duration, strict } from './schema-primitives.js';

const File = (description: string) => Type.String({ minLength: 1, description });
const perSecond = (what: string, dflt: number) =>
  Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: dflt,
    description: `${what} per connection per second; past it the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed`,
  });

/** HTTP/2 on the gateway listener. */
export const GatewayHttp2 = strict(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'HTTP/2 on the listener next to HTTP/1.1: cleartext with prior knowledge (h2c), and by ALPN with tls',
    }),
    max_concurrent_streams: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 100,
      description: 'Streams one connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS)',
    }),
    max_resets_per_second: perSecond('Streams the client resets (rapid reset, CVE-2023-44487)', 100),
    max_pings_per_second: perSecond('PING frames', 20),
    max_settings_per_second: perSecond('SETTINGS frames', 20),
    block_after_flood: Duration(
      'After a connection exceeds a flood limit, new connections from its address are refused at accept for this long, doubled on each repeat offence up to 10 minutes (0 = off). Addresses in trusted_proxies are never blocked; behind a load balancer not listed there every client shares its address, so one attacker would block them all',
      '0s',
      '0s',
      '1h',
    ),
  },
  'HTTP/2 on the gateway listener (the header list size limit is max_header_bytes)',
  { default: {} },
);

const CertPair = strict(
  { cert: File('PEM certificate (chain) file'), key: File('PEM private key file') },
  'A certificate and its key',
);

/** TLS on a listener. */
export const ListenerTls = strict(
  {
    cert: Type.Optional(File('PEM certificate (chain) file, relative to the config file')),
    key: Type.Optional(File('PEM private key file')),
    certificates: Type.Optional(
      Type.Array(CertPair, {
        minItems: 1,
        maxItems: 1000,
        description: 'Certificates chosen by SNI (their DNS names, *. wildcards); the first is the default',
      }),
    ),
    client_ca: Type.Optional(File('mTLS: clients must present a certificate signed by this CA (PEM file)')),
  },
  'TLS 1.2/1.3 on the listener; the files are re-read when they change (a set that fails to load keeps the old one and raises an alert)',
);

/** `upstream.protocol`. */
export const UpstreamProtocol = Type.Union([Type.Literal('h1'), Type.Literal('h2'), Type.Literal('h2c')], {
  default: 'h1',
  description:
    'h1: HTTP/1.1; h2: HTTP/2 over TLS (https:// instances); h2c: cleartext HTTP/2 with prior knowledge (gRPC servers without TLS)',
});

/** `upstream.tls`: towards https:// instances. */
export const UpstreamTls = strict(
  {
    ca: Type.Optional(File('CA (PEM file) the instances’ certificates are checked against')),
    cert: Type.Optional(File('Client certificate (PEM file) presented to the instances')),
    key: Type.Optional(File('Its private key (PEM file)')),
  },
  'TLS towards https:// instances',
);
