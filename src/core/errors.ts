/**
 * The one registry of stable error codes (fastify's FST_ERR_*, undici's UND_ERR_*).
 * Callers match on `err.code`; `docs/errors.md` is generated from this table and a test keeps it equal.
 * Add a code here, never inline: message templates use `{name}` placeholders.
 */
export const ERRORS = {
  // config
  LS_ERR_CONFIG_READ: { message: '{file}: cannot read: {reason}', status: 500 },
  LS_ERR_CONFIG_PARSE: { message: '{file}:{line}: YAML syntax error: {reason}', status: 400 },
  LS_ERR_CONFIG_INVALID: { message: '{file}: {count} error(s) in configuration', status: 400 },
  LS_ERR_CONFIG_ENV: { message: '{file}:{line} {path}: environment variable {name} is not set', status: 400 },
  LS_ERR_CONFIG_LISTEN: {
    message: '{file}:{line} {path}: cannot listen on {address}: {reason}',
    status: 500,
  },
  // policy and sandbox
  LS_ERR_POLICY_NOT_FOUND: { message: '{file}: policy file not found', status: 400 },
  LS_ERR_POLICY_SYNTAX: { message: '{where}: syntax error: {reason}', status: 400 },
  LS_ERR_POLICY_RUNTIME: { message: '{where}: {reason}', status: 422 },
  LS_ERR_POLICY_BUDGET: { message: '{where}: instruction budget of {budget} exceeded', status: 422 },
  LS_ERR_POLICY_MEMORY: { message: '{where}: memory limit of {limit} bytes exceeded', status: 422 },
  LS_ERR_POLICY_TIMEOUT: { message: '{where}: wall-clock limit of {ms} ms exceeded', status: 422 },
  LS_ERR_POLICY_RESULT: { message: '{where}: bad result: {reason}', status: 422 },
  LS_ERR_POLICY_STATE: { message: '{where}: bad state: {reason}', status: 422 },
  LS_ERR_POLICY_UNKNOWN_BUILTIN: {
    message: 'unknown built-in policy "{name}" (known: {known})',
    status: 400,
  },
  LS_ERR_POLICY_PARAMS: { message: 'builtin:{name}: bad params: {reason}', status: 400 },
  LS_ERR_CRON: { message: 'cron "{expr}": {reason}', status: 400 },
  // cli
  LS_ERR_CLI_INPUT: { message: '{where}: {reason}', status: 400 },
  LS_ERR_CLI_USAGE: { message: '{reason}', status: 400 },
  LS_ERR_CLI_BAD_ARGUMENT: { message: '{arg}: {reason}', status: 400 },
  LS_ERR_CLI_UNREACHABLE: {
    message: 'cannot reach the admin API at {url} ({reason}); is `luascale up` running there? (--admin URL)',
    status: 503,
  },
  LS_ERR_CLI_NOT_ADMIN: { message: '{url} does not look like a luascale admin API ({reason})', status: 502 },
  LS_ERR_CLI_API: { message: '{method} {path}: {code}: {reason}', status: 502 },
  LS_ERR_CLI_INIT_BLOCKED: { message: 'init {dir}: {reason}; nothing was written', status: 400 },
  // metric sources (the wrapper names the source; the cause keeps the inner error)
  LS_ERR_SOURCE_FAILED: { message: '{source}: {reason}', status: 502 },
  LS_ERR_SOURCE_URL: { message: '{reason}', status: 400 },
  LS_ERR_SOURCE_JSON_PATH: { message: 'bad JSON path "{path}" at column {column}: {reason}', status: 400 },
  LS_ERR_SOURCE_ANSWER: { message: '{reason}', status: 502 },
  LS_ERR_SOURCE_TIMEOUT: { message: 'no answer within {ms} ms', status: 504 },
  // simulator
  LS_ERR_TRACE_INVALID: { message: '{file}:{row}: {reason}', status: 400 },
  // store
  LS_ERR_STORE_OPEN: { message: '{file}: cannot open store: {reason}', status: 500 },
  LS_ERR_STORE_WRITE: { message: '{file}: write failed: {reason}', status: 500 },
  LS_ERR_STORE_READ: { message: '{file}: read failed: {reason}', status: 500 },
  // providers
  LS_ERR_PROVIDER_LAUNCH: { message: '{service}: cannot launch instance: {reason}', status: 502 },
  LS_ERR_PROVIDER_COMMAND: { message: '{service}: provider command failed: {reason}', status: 502 },
  LS_ERR_PROVIDER_FORBIDDEN: {
    message:
      '{service}: Kubernetes denied "{verb}" on {resource} in namespace {namespace}; grant it in the Role (deploy/kubernetes/rbac.yaml): {reason}',
    status: 502,
  },
  LS_ERR_PROVIDER_TIMEOUT: {
    message: '{service}: `{command}` did not finish within {ms} ms and was killed',
    status: 504,
  },
  LS_ERR_PROVIDER_OUTPUT: { message: '{service}: `{command}` printed bad output: {reason}', status: 502 },
  LS_ERR_PROVIDER_API: { message: '{service}: Kubernetes API {method} {path} failed: {reason}', status: 502 },
  // gateway
  LS_ERR_GATEWAY_NO_ROUTE: { message: 'no route matches {method} {path}', status: 404 },
  LS_ERR_GATEWAY_NO_UPSTREAM: { message: 'service {service} has no ready instance', status: 503 },
  LS_ERR_GATEWAY_QUEUE_FULL: { message: 'service {service} is at capacity; queue full', status: 503 },
  LS_ERR_GATEWAY_QUEUE_TIMEOUT: { message: 'service {service}: waited {ms} ms in queue', status: 503 },
  LS_ERR_GATEWAY_RATE_LIMITED: { message: 'rate limit exceeded', status: 429 },
  LS_ERR_GATEWAY_UPSTREAM_TIMEOUT: { message: 'upstream timed out after {ms} ms', status: 504 },
  LS_ERR_GATEWAY_UPSTREAM_ERROR: { message: 'upstream error: {reason}', status: 502 },
  LS_ERR_GATEWAY_BODY_TOO_LARGE: { message: 'request body exceeds {limit} bytes', status: 413 },
  LS_ERR_GATEWAY_BAD_REQUEST: { message: 'bad request: {reason}', status: 400 },
  LS_ERR_GATEWAY_INVALID_REQUEST: { message: '{field}: {message}', status: 400 },
  LS_ERR_GATEWAY_UNSUPPORTED_MEDIA_TYPE: { message: '{field}: {message}', status: 415 },
  LS_ERR_GATEWAY_NO_OPERATION: {
    message: '{method} {path} matches no operation of the OpenAPI document',
    status: 404,
  },
  LS_ERR_GATEWAY_REQUEST_TIMEOUT: { message: 'request not received within {ms} ms', status: 408 },
  LS_ERR_GATEWAY_HEADERS_TOO_LARGE: { message: 'request header fields too large', status: 431 },
  LS_ERR_GATEWAY_AT_CAPACITY: {
    message:
      'service {service} is at max replicas and saturated: the expected queue wait of {waitMs} ms exceeds the {leftMs} ms left before the deadline',
    status: 503,
  },
  LS_ERR_GATEWAY_DEADLINE_UNMET: {
    message:
      'service {service}: the expected queue wait of {waitMs} ms would miss the request deadline ({leftMs} ms left) before more capacity is ready',
    status: 503,
  },
  LS_ERR_GATEWAY_SHUTTING_DOWN: { message: 'service {service} is shutting down', status: 503 },
  LS_ERR_GATEWAY_UNAUTHENTICATED: { message: 'unauthenticated: {reason}', status: 401 },
  // AI services (the llm front door)
  LS_ERR_LLM_OVER_WHOLE_LIMIT: {
    message:
      '{param}: this request reserves {amount} ({prompt} prompt tokens + {param} {maxTokens}), more than the whole {limit} of consumer {consumer} ({limitValue}), so no retry can fit it; {fit}',
    status: 400,
  },
  LS_ERR_LLM_CANNOT_EMBED: {
    message:
      'model: the backends of model {model} cannot embed ({backends}): embeddings need an OpenAI-format backend, and Anthropic has no embeddings API',
    status: 400,
  },
  // openapi
  LS_ERR_OPENAPI_INVALID: { message: '{file}#{pointer}: {reason}', status: 400 },
  // admin API
  LS_ERR_ADMIN_NO_TOKEN: {
    message:
      'admin.listen {listen} is not a loopback address: set admin.token (e.g. token: "${LUASCALE_TOKEN}") or listen on 127.0.0.1',
    status: 500,
  },
  LS_ERR_ADMIN_UNAUTHORIZED: { message: 'missing or wrong bearer token', status: 401 },
  LS_ERR_ADMIN_AUTH_RATE_LIMITED: { message: 'too many failed attempts', status: 429 },
  LS_ERR_ADMIN_NOT_FOUND: { message: 'no route {method} {path}', status: 404 },
  LS_ERR_ADMIN_NO_SERVICE: { message: 'no service named "{name}"', status: 404 },
  LS_ERR_ADMIN_BAD_REQUEST: { message: 'bad request: {reason}', status: 400 },
  LS_ERR_ADMIN_BODY_TOO_LARGE: { message: 'request body exceeds {limit} bytes', status: 413 },
  LS_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE: {
    message: 'request bodies must be application/json, got "{type}"',
    status: 415,
  },
  LS_ERR_ADMIN_FORBIDDEN_ORIGIN: {
    message: 'cross-site request refused: origin "{origin}" is not this admin API',
    status: 403,
  },
  LS_ERR_ADMIN_BAD_HOST: {
    message: 'host "{host}" is not a name of this admin listener (add it to admin.allowed_hosts)',
    status: 403,
  },
  LS_ERR_ADMIN_POLICY_REJECTED: {
    message: 'policy for {service} rejected, the old one keeps running: {reason}',
    status: 422,
  },
  LS_ERR_ADMIN_NO_CONSUMER: { message: 'no consumer named "{name}" in the config', status: 404 },
  LS_ERR_ADMIN_NO_KEY: { message: 'no API key with id "{id}"', status: 404 },
  LS_ERR_ADMIN_INTERNAL: { message: 'internal error', status: 500 },
} as const satisfies Record<string, { message: string; status: number }>;

/** A stable error code from the registry. */
export type ErrorCode = keyof typeof ERRORS;

/** An error a user can fix: the CLI prints its message in one line, without a stack. */
export class LuascaleError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    params: Record<string, unknown> = {},
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? formatMessage(ERRORS[code].message, params), { cause: options?.cause });
    this.name = 'LuascaleError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = params;
  }
}

/** Fills `{name}` placeholders; unknown names stay visible so a missing parameter is noticed. */
export function formatMessage(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** Whether `err` is a user-facing luascale error (optionally with one code). */
export function isLuascaleError(err: unknown, code?: ErrorCode): err is LuascaleError {
  return err instanceof LuascaleError && (code === undefined || err.code === code);
}
