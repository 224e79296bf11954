/**
 * A small JSON Schema (2020-12 subset) validator for the tests, enough for the OpenAPI document
 * zod generates: type (one or a list), properties, required, additionalProperties, items, $ref
 * into the document, enum, const, anyOf/oneOf/allOf, minimum/maximum. No package does this in
 * node_modules, and the tests must not trust zod to check its own output.
 */
type Json = Record<string, unknown>;

/** Every problem found, as 'path: what'; empty when `value` is valid. */
export function validate(schema: Json, value: unknown, root: Json, path = '$'): string[] {
  if (typeof schema['$ref'] === 'string') {
    const ref = schema['$ref'];
    if (!ref.startsWith('#/')) return [`${path}: cannot follow $ref ${ref}`];
    let target: unknown = root;
    for (const seg of ref.slice(2).split('/'))
      target = (target as Json | undefined)?.[seg.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (!target) return [`${path}: $ref ${ref} not found`];
    return validate(target as Json, value, root, path);
  }
  const errs: string[] = [];
  const types = schema['type'] === undefined ? [] : [schema['type']].flat().map(String);
  if (types.length > 0 && !types.some((t) => hasType(t, value)))
    return [`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)}`];
  if ('const' in schema && JSON.stringify(schema['const']) !== JSON.stringify(value))
    errs.push(`${path}: expected ${JSON.stringify(schema['const'])}`);
  if (Array.isArray(schema['enum']) && !schema['enum'].includes(value))
    errs.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema['enum'])}`);
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum'])
      errs.push(`${path}: below ${schema['minimum']}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum'])
      errs.push(`${path}: above ${schema['maximum']}`);
  }
  for (const s of (schema['allOf'] as Json[] | undefined) ?? [])
    errs.push(...validate(s, value, root, path));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alts = schema[key] as Json[] | undefined;
    if (!alts) continue;
    const ok = alts.filter((s) => validate(s, value, root, path).length === 0).length;
    if (key === 'anyOf' ? ok === 0 : ok !== 1)
      errs.push(`${path}: matches ${ok} of the ${key} alternatives`);
  }
  if (Array.isArray(value) && schema['items'])
    value.forEach((v, i) =>
      errs.push(...validate(schema['items'] as Json, v, root, `${path}[${i}]`)),
    );
  if (isObject(value)) {
    const props = (schema['properties'] as Record<string, Json> | undefined) ?? {};
    for (const r of (schema['required'] as string[] | undefined) ?? [])
      if (!(r in value)) errs.push(`${path}: missing ${r}`);
    for (const [k, v] of Object.entries(value)) {
      if (props[k]) errs.push(...validate(props[k], v, root, `${path}.${k}`));
      else if (schema['additionalProperties'] === false)
        errs.push(`${path}: unexpected field ${k}`);
      else if (isObject(schema['additionalProperties']))
        errs.push(...validate(schema['additionalProperties'], v, root, `${path}.${k}`));
    }
  }
  return errs;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasType(t: string, v: unknown): boolean {
  switch (t) {
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isObject(v);
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeof v === t;
  }
}

/** Every key in `value`, at any depth, spelled in camelCase (a lower-case letter, then upper). */
export function camelCaseKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => camelCaseKeys(v, `${path}[${i}]`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(/[a-z][A-Z]/.test(k) ? [`${path}.${k}`] : []),
    ...camelCaseKeys(v, `${path}.${k}`),
  ]);
}
