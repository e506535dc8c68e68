/**
 * What a tool (or prompt, or resource template) says it does, pinned: the fingerprint of its definition (canonical JSON of the fields
 * a model and a policy act on, hashed) and a readable diff between two definitions, calling out the
 * changes that matter most — a tool that drops `destructiveHint` or gains `readOnlyHint` changes how
 * read-only mode and the policy's classes treat it.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/chain.js';
import type { Params } from '../core/jsonrpc.js';
import type { PinKind } from '../store/store.js';

/** The fields pinned, per kind: everything that steers a model or the policy, nothing cosmetic. */
const PINNED_FIELDS: Readonly<Record<PinKind, readonly string[]>> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompt: ['name', 'title', 'description', 'arguments'],
  resourceTemplate: ['uriTemplate', 'name', 'title', 'description', 'mimeType', 'annotations'],
};

/** What the items of each pinned list method are (their list field and name field: core/methods.ts). */
export const PIN_KINDS: Readonly<Record<string, PinKind>> = {
  'tools/list': 'tool',
  'prompts/list': 'prompt',
  'resources/templates/list': 'resourceTemplate',
};

export type PinnedDefinition = Readonly<Record<string, unknown>>;

/** The pinned part of a tool, prompt or resource template as the upstream listed it. */
export function pinnedDefinition(kind: PinKind, item: Params): PinnedDefinition {
  const definition: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS[kind]) if (item[field] !== undefined) definition[field] = item[field];
  return definition;
}

/** sha256 of the canonical JSON of the pinned fields, hex. */
export function fingerprint(definition: PinnedDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

const HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

/** What changed from `before` to `after`, one line a change, the most dangerous first. */
export function describeDrift(before: PinnedDefinition, after: PinnedDefinition): string[] {
  const warnings: string[] = [];
  const changes: string[] = [];
  const hints = (d: PinnedDefinition) => (d.annotations ?? {}) as Record<string, unknown>;
  for (const hint of HINTS) {
    const was = hints(before)[hint];
    const now = hints(after)[hint];
    if (was === now) continue;
    const line = `annotations.${hint}: ${show(was)} → ${show(now)}`;
    const safer = hint === 'readOnlyHint' ? now === true : hint === 'destructiveHint' ? now === false : false;
    const unset = hint === 'destructiveHint' && now === undefined && was === true;
    if (safer || unset) warnings.push(`${line} (the tool now claims to be safer than it was)`);
    else changes.push(line);
  }
  for (const [key, value] of Object.entries(hints(after)))
    if (
      !(HINTS as readonly string[]).includes(key) &&
      canonicalJson(value) !== canonicalJson(hints(before)[key])
    )
      changes.push(`annotations.${key}: ${show(hints(before)[key])} → ${show(value)}`);
  for (const field of ['title', 'description'] as const) {
    if (before[field] !== after[field])
      changes.push(`${field}: ${show(before[field])} → ${show(after[field])}`);
  }
  for (const field of ['inputSchema', 'outputSchema'] as const)
    changes.push(...schemaChanges(field, before[field], after[field]));
  const described = new Set(['annotations', 'title', 'description', 'inputSchema', 'outputSchema']);
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)]))
    if (!described.has(field) && canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null))
      changes.push(`${field}: ${show(before[field])} → ${show(after[field])}`);
  return [...warnings, ...changes];
}

function schemaChanges(field: string, before: unknown, after: unknown): string[] {
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  const props = (s: unknown) => ((s as Params | undefined)?.properties ?? {}) as Record<string, unknown>;
  const required = (s: unknown) => new Set(((s as Params | undefined)?.required ?? []) as string[]);
  const lines: string[] = [];
  const was = props(before);
  const now = props(after);
  for (const name of Object.keys(now)) if (!(name in was)) lines.push(`${field}: property '${name}' added`);
  for (const name of Object.keys(was)) if (!(name in now)) lines.push(`${field}: property '${name}' removed`);
  for (const name of Object.keys(now))
    if (name in was && canonicalJson(was[name]) !== canonicalJson(now[name]))
      lines.push(`${field}: property '${name}' changed: ${show(was[name])} → ${show(now[name])}`);
  const reqWas = required(before);
  const reqNow = required(after);
  for (const name of reqNow) if (!reqWas.has(name)) lines.push(`${field}: '${name}' is now required`);
  for (const name of reqWas) if (!reqNow.has(name)) lines.push(`${field}: '${name}' is no longer required`);
  // Something else changed (types, $defs, additionalProperties …): say so rather than stay silent.
  if (lines.length === 0) lines.push(`${field} changed`);
  return lines;
}

/** A value as one short line for the diff. */
function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
  return text.length > 200 ? `${text.slice(0, 197)}…` : text;
}
