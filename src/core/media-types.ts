/** The request body media types the gateway reads whole to validate (validate stage, OpenAPI checks). */

const JSON_TYPE = /^[a-z0-9!#$&^_.+-]+\/(?:[a-z0-9!#$&^_.+-]*\+)?json$/;

/** JSON: `application/json` or a `+json` type (RFC 6839), not any type naming json (x-ndjson). `type` is lower case, without parameters. */
export function isJsonMediaType(type: string): boolean {
  return JSON_TYPE.test(type);
}

/** An HTML form's body (fields as `a=1&b=2`). */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';
