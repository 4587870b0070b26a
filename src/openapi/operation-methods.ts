/**
 * The HTTP methods an OpenAPI path item names as fixed fields: the import reads its operations in this
 * order, and an error explanation looks for a repeated Swagger 2.0 operationId under them.
 */

// `head` before `get`: a GET route also takes HEAD (RFC 9110 §9.3.2) unless the document has its own.
export const METHODS = ['head', 'get', 'put', 'post', 'delete', 'options', 'patch', 'trace'] as const;
/** OpenAPI 3.2 adds `query`, the HTTP QUERY method (§4.8.8.1), and `additionalOperations`. */
export const METHODS_32 = [...METHODS, 'query'] as const;
