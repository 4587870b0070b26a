/** OpenAPI (public surface): importing a service's document, and validating requests against it. */
export * from './import-openapi.js';
export { extensions, type Ext } from './luascale-extensions.js';
export * from './request-validator.js';
export * from './schema-cache.js';
export * from './import-proto.js';
