/**
 * What an approval is bound to, computed the same way everywhere: the arguments' hash is sha256 of
 * their canonical JSON (keys sorted at every depth, so `{a,b}` and `{b,a}` are one call), and the
 * policy version is sha256 of the loaded policy's canonical JSON, so a changed policy — other rules,
 * other scopes — makes every earlier approval unusable.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/chain.js';
import type { PolicyConfig } from '../config/policy-schema.js';
import type { Params } from '../core/jsonrpc.js';
import type { ApprovalBinding } from '../store/store.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** sha256 (hex) of the canonical JSON of a call's arguments; absent arguments hash as `{}`. */
export function argumentsHash(args: Params | undefined): string {
  return sha256(canonicalJson(args ?? {}));
}

/** sha256 (hex) of the canonical JSON of the policy the gateway loaded. */
export function policyVersion(policy: PolicyConfig): string {
  return sha256(canonicalJson(policy));
}

/** Whether `record` is bound to exactly `binding` (every field). */
export function sameBinding(record: ApprovalBinding, binding: ApprovalBinding): boolean {
  return (
    record.principalId === binding.principalId &&
    record.upstream === binding.upstream &&
    record.tool === binding.tool &&
    record.argumentsHash === binding.argumentsHash &&
    record.policyVersion === binding.policyVersion
  );
}
