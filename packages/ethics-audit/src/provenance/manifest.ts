import { basename } from 'node:path';
import { FormatError, InvalidArgumentError, describe } from '@nutshell/core';
import { canonicalJson } from './canonical.js';
import { hashFile, sha256Hex, signBytes, verifyBytes, type SigningKey } from './keys.js';

export const MANIFEST_FORMAT = 'nutshell-provenance/1';

export interface AssetRef {
  /** Name as the asset is known (file name or logical name). */
  name: string;
  sha256: string;
  bytes: number;
  mediaType?: string;
}

/** What the signer claims (C2PA calls these assertions, grouped into a claim). */
export interface ProvenanceClaim {
  title: string;
  /** Who made it: a person, organization or tool. */
  creator: string;
  /** ISO 8601 time of signing. */
  created: string;
  /** Hashes of the files this manifest is about (weights, outputs, …). */
  assets: AssetRef[];
  /** Model/adapter ids, seed, prompt hash, … — free JSON. */
  model?: Record<string, unknown>;
  /** Data cards of the training data (names, URLs, hashes). */
  trainingData?: Record<string, unknown>[];
  /** Manifests this one derives from, by the SHA-256 of their canonical JSON. */
  parents?: { sha256: string; title?: string }[];
  assertions?: Record<string, unknown>;
  /** The generator that wrote the manifest. */
  generator: string;
}

export interface ProvenanceManifest {
  format: typeof MANIFEST_FORMAT;
  claim: ProvenanceClaim;
  signature: { alg: 'Ed25519'; publicKey: string; value: string };
}

export type ClaimInput = Omit<ProvenanceClaim, 'created' | 'generator' | 'assets'> & {
  created?: string;
  generator?: string;
  /** Assets given as file paths (hashed here), bytes, or ready references. */
  assets: (AssetRef | { name?: string; path: string; mediaType?: string } | { name: string; data: Uint8Array | string; mediaType?: string })[];
};

async function resolveAsset(a: ClaimInput['assets'][number]): Promise<AssetRef> {
  if ('sha256' in a) {
    if (!/^[0-9a-f]{64}$/.test(a.sha256)) throw new InvalidArgumentError(`asset ${describe(a.name)}: sha256 must be 64 lowercase hex digits`);
    return { ...a };
  }
  if ('path' in a) {
    const { sha256, bytes } = await hashFile(a.path);
    return { name: a.name ?? basename(a.path), sha256, bytes, ...(a.mediaType ? { mediaType: a.mediaType } : {}) };
  }
  if ('data' in a) {
    const data = typeof a.data === 'string' ? new TextEncoder().encode(a.data) : a.data;
    return { name: a.name, sha256: sha256Hex(data), bytes: data.length, ...(a.mediaType ? { mediaType: a.mediaType } : {}) };
  }
  throw new InvalidArgumentError(`asset must have sha256, path or data, got ${describe(a)}`);
}

/** Hashes the assets, fills in time and generator, and signs the canonical JSON of the claim. */
export async function createManifest(input: ClaimInput, key: SigningKey): Promise<ProvenanceManifest> {
  if (!input || typeof input.title !== 'string' || !input.title) throw new InvalidArgumentError(`createManifest: claim.title must be a non-empty string, got ${describe(input?.title)}`);
  if (typeof input.creator !== 'string' || !input.creator) throw new InvalidArgumentError(`createManifest: claim.creator must be a non-empty string, got ${describe(input.creator)}`);
  if (!Array.isArray(input.assets)) throw new InvalidArgumentError(`createManifest: claim.assets must be an array, got ${describe(input.assets)}`);
  const claim: ProvenanceClaim = {
    ...input,
    created: input.created ?? new Date().toISOString(),
    generator: input.generator ?? '@nutshell/ethics-audit',
    assets: await Promise.all(input.assets.map(resolveAsset)),
  };
  return signClaim(claim, key);
}

export function signClaim(claim: ProvenanceClaim, key: SigningKey): ProvenanceManifest {
  const value = signBytes(new TextEncoder().encode(canonicalJson(claim)), key);
  return { format: MANIFEST_FORMAT, claim, signature: { alg: 'Ed25519', publicKey: key.publicKey, value } };
}

/** SHA-256 of a manifest's canonical JSON: how a child manifest names its parent. */
export function manifestHash(manifest: ProvenanceManifest): string {
  return sha256Hex(canonicalJson(manifest));
}

export interface ManifestVerification {
  valid: boolean;
  /** Why not, one line each. */
  problems: string[];
  signer: string;
}

/**
 * Checks the signature over the canonical claim, optionally that the signer is trusted, and that
 * given files (name → bytes or path) still hash to what the claim says.
 */
export async function verifyManifest(
  manifest: unknown,
  options: { trustedKeys?: string[]; files?: Record<string, Uint8Array | string>; parents?: ProvenanceManifest[] } = {},
): Promise<ManifestVerification> {
  const m = parseManifest(manifest);
  const problems: string[] = [];
  const ok = verifyBytes(new TextEncoder().encode(canonicalJson(m.claim)), m.signature.value, m.signature.publicKey);
  if (!ok) problems.push('signature does not match the claim (the manifest was changed or signed by another key)');
  if (options.trustedKeys && !options.trustedKeys.includes(m.signature.publicKey)) problems.push(`signer ${m.signature.publicKey} is not among the trusted keys`);
  for (const [name, file] of Object.entries(options.files ?? {})) {
    const asset = m.claim.assets.find((a) => a.name === name);
    if (!asset) {
      problems.push(`file ${name} is not listed in the manifest`);
      continue;
    }
    const digest = typeof file === 'string' ? (await hashFile(file)).sha256 : sha256Hex(file);
    if (digest !== asset.sha256) problems.push(`file ${name}: SHA-256 ${digest} differs from the manifest's ${asset.sha256}`);
  }
  for (const parent of options.parents ?? []) {
    const h = manifestHash(parent);
    if (!(m.claim.parents ?? []).some((p) => p.sha256 === h)) problems.push(`parent manifest ${h} is not referenced by this manifest`);
  }
  return { valid: problems.length === 0, problems, signer: m.signature.publicKey };
}

/** Validates the shape of a parsed manifest; throws FormatError when it is not one. */
export function parseManifest(value: unknown): ProvenanceManifest {
  const m = (typeof value === 'string' ? JSON.parse(value) : value) as ProvenanceManifest;
  if (!m || typeof m !== 'object' || m.format !== MANIFEST_FORMAT) throw new FormatError(MANIFEST_FORMAT, `not a provenance manifest (format is ${describe((m as { format?: unknown })?.format)})`);
  if (!m.claim || typeof m.claim !== 'object' || !Array.isArray(m.claim.assets)) throw new FormatError(MANIFEST_FORMAT, 'claim with an assets array is missing');
  if (!m.signature || m.signature.alg !== 'Ed25519' || typeof m.signature.value !== 'string' || typeof m.signature.publicKey !== 'string') {
    throw new FormatError(MANIFEST_FORMAT, 'signature { alg: "Ed25519", publicKey, value } is missing');
  }
  return m;
}
