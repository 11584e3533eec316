// A small JSON Schema validator for the subset the node schema uses (type, enum, properties, required,
// additionalProperties: false, items, minLength, minimum, maximum, format). Formats are named checks
// supplied by the caller, each returning what was expected. Every error names its JSON path in the
// form people write it: `wireguard[1].peers[0].endpoint`.

export interface Schema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: Schema;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: string;
}

/** Checks one string; returns undefined when it is fine, else what was expected ("expected host:port"). */
export type FormatCheck = (value: string) => string | undefined;

export interface SchemaError {
  readonly path: string;
  readonly message: string;
}

export const formatError = (e: SchemaError): string => (e.path ? `${e.path}: ${e.message}` : e.message);

const KINDS: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const matchesType = (kind: string, type: string) => kind === type || (type === 'number' && kind === 'integer');
const child = (path: string, key: string) => (path ? `${path}.${key}` : key);

export function validate(value: unknown, schema: Schema, formats: Readonly<Record<string, FormatCheck>>, path = ''): SchemaError[] {
  const kind = kindOf(value);
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!types.some((t) => matchesType(kind, t))) {
      return [{ path, message: `expected ${types.map((t) => KINDS[t] ?? t).join(' or ')}, got ${KINDS[kind] ?? kind}` }];
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    return [{ path, message: `expected one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}` }];
  }
  if (kind === 'string') return validateString(value as string, schema, formats, path);
  if (kind === 'integer' || kind === 'number') return validateNumber(value as number, schema, path);
  if (kind === 'array') return (value as unknown[]).flatMap((v, i) => (schema.items ? validate(v, schema.items, formats, `${path}[${i}]`) : []));
  if (kind === 'object') return validateObject(value as Record<string, unknown>, schema, formats, path);
  return [];
}

function validateString(value: string, schema: Schema, formats: Readonly<Record<string, FormatCheck>>, path: string): SchemaError[] {
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    return [{ path, message: schema.minLength === 1 ? 'must not be empty' : `expected at least ${schema.minLength} characters` }];
  }
  if (schema.format === undefined) return [];
  const check = formats[schema.format];
  if (!check) throw new Error(`schema uses unknown format '${schema.format}'`);
  const problem = check(value);
  return problem ? [{ path, message: problem }] : [];
}

function validateNumber(value: number, schema: Schema, path: string): SchemaError[] {
  const low = schema.minimum ?? -Infinity;
  const high = schema.maximum ?? Infinity;
  if (value >= low && value <= high) return [];
  const range = Number.isFinite(high) ? `from ${low} to ${high}` : `of at least ${low}`;
  return [{ path, message: `expected ${schema.type === 'integer' ? 'an integer' : 'a number'} ${range}, got ${value}` }];
}

function validateObject(
  value: Record<string, unknown>,
  schema: Schema,
  formats: Readonly<Record<string, FormatCheck>>,
  path: string,
): SchemaError[] {
  const errors: SchemaError[] = [];
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(value, key)) errors.push({ path: child(path, key), message: 'required' });
  }
  for (const [key, v] of Object.entries(value)) {
    const sub = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (sub) errors.push(...validate(v, sub, formats, child(path, key)));
    else if (schema.additionalProperties === false) errors.push({ path: child(path, key), message: 'unknown property' });
  }
  return errors;
}
