import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { InvalidArgumentError, describe } from '@nutshell/core';

/** An Ed25519 key pair as base64url of the raw 32-byte keys (the JWK `x` and `d` members). */
export interface SigningKey {
  alg: 'Ed25519';
  publicKey: string;
  privateKey: string;
}

export function generateSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  void publicKey;
  return { alg: 'Ed25519', publicKey: jwk.x, privateKey: jwk.d };
}

const B64URL = /^[A-Za-z0-9_-]{43}$/;

function privateKeyObject(key: SigningKey): KeyObject {
  if (!key || key.alg !== 'Ed25519' || !B64URL.test(key.privateKey ?? '') || !B64URL.test(key.publicKey ?? '')) {
    throw new InvalidArgumentError(`expected an Ed25519 SigningKey { alg, publicKey, privateKey } (base64url raw keys), got ${describe(key)}`);
  }
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey, d: key.privateKey }, format: 'jwk' });
}

export function publicKeyObject(publicKey: string): KeyObject {
  if (typeof publicKey !== 'string' || !B64URL.test(publicKey)) throw new InvalidArgumentError(`expected a base64url raw Ed25519 public key (43 characters), got ${describe(publicKey)}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
}

/** Ed25519 signature (base64url) of the bytes. */
export function signBytes(bytes: Uint8Array, key: SigningKey): string {
  return sign(null, bytes, privateKeyObject(key)).toString('base64url');
}

export function verifyBytes(bytes: Uint8Array, signature: string, publicKey: string): boolean {
  try {
    return verify(null, bytes, publicKeyObject(publicKey), Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a file, streamed, with its size. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}
