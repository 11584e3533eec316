// Normalisation shared by every backend, and the reading of grid-proxy-shaped JSON (the proxy's responses
// and the file backend's registry). Unknown fields are ignored; a known field with the wrong type, an id
// out of range or a key that does not decode is a malformed record, never a guess.
import { isIPv4, isIPv6 } from 'node:net';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { malformed } from './errors.js';
import { decodeSs58, encodeSs58, Ss58Error } from './ss58.js';
import type { NameRecord, NodeRecord, PublicConfig, PublicIp, TwinRecord } from './types.js';

type Json = Record<string, unknown>;

export function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what} is not a JSON object`);
  return value as Json;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(`${what} is not a JSON array`);
  return value;
}

/** A non-negative integer id; the proxy's Go uints never exceed a JS number's safe range in practice. */
export function idField(o: Json, key: string, what: string, max = 0xffffffff): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw malformed(`${what}: ${key} is ${v === undefined ? 'missing' : `not an id (${JSON.stringify(v)})`}`);
  }
  return v;
}

/** A string field with "" and null (and absence) all meaning "not set". */
export function textField(o: Json, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformed(`${what}: ${key} is not a string`);
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** The chain's `_`-joined relay list as a de-duplicated list of lower-case domains. */
export function normaliseRelays(joined: string | undefined, what: string): string[] {
  if (!joined) return [];
  const relays = [...new Set(joined.split('_').map((d) => d.trim().toLowerCase()).filter((d) => d !== ''))];
  for (const relay of relays) {
    if (!/^[a-z0-9.-]+(:\d{1,5})?$/.test(relay)) throw malformed(`${what}: relay ${JSON.stringify(relay)} is not a domain`);
  }
  return relays;
}

/** Hex with or without 0x, either case, to lower-case 0x-hex; ""/absent to undefined. */
export function normaliseHexKey(text: string | undefined, what: string, maxBytes: number): string | undefined {
  if (text === undefined) return undefined;
  const hex = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (hex === '') return undefined;
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw malformed(`${what} is not hex`);
  if (hex.length / 2 > maxBytes) throw malformed(`${what} is ${hex.length / 2} bytes, more than ${maxBytes}`);
  return `0x${hex.toLowerCase()}`;
}

/** The twin record from the fields every backend has; `account` is SS58 text or the raw 32 bytes. */
export function makeTwin(
  twinId: number,
  account: string | Uint8Array,
  relay: string | undefined,
  publicKey: string | undefined,
  what: string,
): TwinRecord {
  let key: Uint8Array;
  try {
    if (typeof account !== 'string') key = account;
    else if (/^0x[0-9a-fA-F]{64}$/.test(account)) key = hexToBytes(account.slice(2).toLowerCase());
    else key = decodeSs58(account);
    const pk = normaliseHexKey(publicKey, `${what}: public key`, 128);
    return {
      twinId,
      accountId: encodeSs58(key),
      accountKey: `0x${bytesToHex(key)}`,
      relays: normaliseRelays(relay, what),
      ...(pk ? { publicKey: pk } : {}),
    };
  } catch (err) {
    if (err instanceof Ss58Error) throw malformed(`${what}: account: ${err.message}`);
    throw err;
  }
}

function checkAddress(text: string | undefined, family: 4 | 6, cidr: boolean, what: string): string | undefined {
  if (text === undefined) return undefined;
  const [ip, bits, ...rest] = text.split('/');
  const familyOk = family === 4 ? isIPv4(ip!) : isIPv6(ip!);
  const bitsOk = bits === undefined || (cidr && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  if (!familyOk || !bitsOk || rest.length) throw malformed(`${what} is not an IPv${family} ${cidr ? 'prefix' : 'address'}: ${JSON.stringify(text)}`);
  return text;
}

/** Drops unset fields and returns undefined for a config with none set (the proxy sends five ""). */
export function normalisePublicConfig(raw: Record<keyof PublicConfig, string | undefined>, what: string): PublicConfig | undefined {
  const domain = raw.domain?.toLowerCase();
  if (domain !== undefined && !/^[a-z0-9.-]+$/.test(domain)) throw malformed(`${what}: domain ${JSON.stringify(domain)} is not a domain`);
  const config: PublicConfig = Object.fromEntries(
    Object.entries({
      ipv4: checkAddress(raw.ipv4, 4, true, `${what}: ipv4`),
      gw4: checkAddress(raw.gw4, 4, false, `${what}: gw4`),
      ipv6: checkAddress(raw.ipv6, 6, true, `${what}: ipv6`),
      gw6: checkAddress(raw.gw6, 6, false, `${what}: gw6`),
      domain,
    }).filter(([, v]) => v !== undefined),
  );
  return Object.keys(config).length ? config : undefined;
}

// ---- grid-proxy JSON ----

export function twinFromJson(value: unknown, what: string): TwinRecord {
  const o = asObject(value, what);
  const account = textField(o, 'accountId', what);
  if (account === undefined) throw malformed(`${what}: accountId is missing`);
  return makeTwin(idField(o, 'twinId', what), account, textField(o, 'relay', what), textField(o, 'publicKey', what), what);
}

export function nodeFromJson(value: unknown, what: string): NodeRecord {
  const o = asObject(value, what);
  const pc = o.publicConfig === undefined || o.publicConfig === null ? {} : asObject(o.publicConfig, `${what}: publicConfig`);
  const field = (key: string) => textField(pc, key, `${what}: publicConfig`);
  const publicConfig = normalisePublicConfig(
    { ipv4: field('ipv4'), gw4: field('gw4'), ipv6: field('ipv6'), gw6: field('gw6'), domain: field('domain') },
    what,
  );
  return {
    nodeId: idField(o, 'nodeId', what),
    twinId: idField(o, 'twinId', what),
    farmId: idField(o, 'farmId', what),
    ...(publicConfig ? { publicConfig } : {}),
  };
}

/** A contract from `/contracts`; undefined unless it is a name contract in an active state. */
export function nameFromJson(value: unknown, what: string): NameRecord | undefined {
  const o = asObject(value, what);
  if (textField(o, 'type', what) !== 'name') return undefined;
  const state = textField(o, 'state', what);
  if (state !== 'Created' && state !== 'GracePeriod') return undefined;
  const name = textField(asObject(o.details, `${what}: details`), 'name', `${what}: details`);
  if (name === undefined) throw malformed(`${what}: details.name is missing`);
  return {
    name,
    contractId: idField(o, 'contract_id', what, Number.MAX_SAFE_INTEGER),
    twinId: idField(o, 'twin_id', what),
    state,
  };
}

/** A farm IP: an IPv4 prefix and a bare IPv4 gateway, as the chain validates them on entry. */
export function makePublicIp(ip: string | undefined, gateway: string | undefined, contractId: number, farmId: number, what: string): PublicIp {
  const checkedIp = checkAddress(ip, 4, true, `${what}: ip`);
  const checkedGateway = checkAddress(gateway, 4, false, `${what}: gateway`);
  if (!checkedIp || !checkedGateway) throw malformed(`${what}: ip or gateway is missing`);
  return { ip: checkedIp, gateway: checkedGateway, contractId, farmId };
}

export function publicIpFromJson(value: unknown, what: string): PublicIp {
  const o = asObject(value, what);
  // Older proxies spelled them contractId and farmId.
  return makePublicIp(
    textField(o, 'ip', what),
    textField(o, 'gateway', what),
    idField(o, 'contract_id' in o ? 'contract_id' : 'contractId', what, Number.MAX_SAFE_INTEGER),
    idField(o, 'farm_id' in o ? 'farm_id' : 'farmId', what),
    what,
  );
}

