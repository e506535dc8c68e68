/**
 * Pinning, against definition drift ("rug pulls"): an upstream that changes a tool's description,
 * schema or annotations after people approved it, to steer the model or to make a write tool look
 * read-only — or a prompt's or resource template's definition. Each definition is fingerprinted
 * (pin-diff.ts) and kept per upstream in the store:
 * - `record` pins on first sight and reports a later change (a `tool.drift` audit event with a
 *   readable diff); everything keeps working;
 * - `enforce` also hides a definition that is not the approved one — one never approved included —
 *   from lists, and refuses calls to such a tool or prompt, until an operator approves it
 *   (`portcullis tools approve`).
 * Every instance reads the pins from the store (at most once a second), so an approval takes effect
 * everywhere within a second.
 */
import type { ToolDriftEvent } from '../audit/events.js';
import { GatewayError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import { afterSeeing } from '../store/pin-record.js';
import type { PinKey, PinKind, PinRecord, PinStore } from '../store/store.js';
import { describeDrift, fingerprint, type PinnedDefinition, pinnedDefinition } from './pin-diff.js';

export type PinningMode = 'off' | 'record' | 'enforce';

/** What a drift report says: the tool.drift audit event, without its envelope. */
export type Drift = Omit<ToolDriftEvent, 'type' | 'time' | 'requestId'>;

export interface ToolPinsOptions {
  readonly mode: PinningMode;
  readonly store: PinStore;
  /** Told once for each definition that differs from its pin (the audit trail, metrics). */
  readonly onDrift: (drift: Drift) => void;
  readonly logger: Logger;
  /** How long pins read from the store are reused (default PINS_TTL_MS). */
  readonly cacheMs?: number;
}

const KIND_WORD: Readonly<Record<PinKind, string>> = {
  tool: 'tool',
  prompt: 'prompt',
  resourceTemplate: 'resource template',
};

const keyOf = (kind: PinKind, name: string) => `${kind}\0${name}`;

/** How long pins read from the store are reused. */
const PINS_TTL_MS = 1000;

export class ToolPins {
  private readonly cache = new Map<string, { at: number; pins: Map<string, PinRecord> }>();
  private readonly fingerprints = new WeakMap<Params, { definition: PinnedDefinition; hash: string }>();

  constructor(private readonly options: ToolPinsOptions) {}

  get mode(): PinningMode {
    return this.options.mode;
  }

  /** The mode and, per upstream, how many definitions seen are not approved (for /readyz: counts, not names). */
  async summary(): Promise<{ mode: PinningMode; notApproved: Record<string, number> }> {
    const notApproved: Record<string, number> = {};
    for (const pin of await this.options.store.list())
      if (pin.pinnedHash !== pin.seenHash) notApproved[pin.upstream] = (notApproved[pin.upstream] ?? 0) + 1;
    return { mode: this.options.mode, notApproved };
  }

  /**
   * The items of a list page a client may see: all of them, but in enforce mode only the approved
   * ones; `nameField` names each (`name`, or `uriTemplate` for resource templates).
   */
  async screen(
    upstream: string,
    kind: PinKind,
    items: readonly unknown[],
    nameField = 'name',
  ): Promise<unknown[]> {
    if (this.options.mode === 'off') return [...items];
    const pins = await this.pinsOf(upstream);
    const visible: unknown[] = [];
    for (const item of items) {
      if (item === null || typeof item !== 'object') continue;
      const name = (item as Params)[nameField];
      if (typeof name !== 'string') continue;
      if (await this.observe({ upstream, kind, name }, item as Params, pins)) visible.push(item);
    }
    return visible;
  }

  /** The refusal of a call to `tool` (its definition as listed now) in enforce mode, if not approved. */
  async toolRefusal(upstream: string, tool: Params | undefined): Promise<GatewayError | undefined> {
    if (this.options.mode === 'off' || !tool || typeof tool.name !== 'string') return undefined;
    const key: PinKey = { upstream, kind: 'tool', name: tool.name };
    if (await this.observe(key, tool, await this.pinsOf(upstream))) return undefined;
    return notApproved(key);
  }

  /** The refusal of prompts/get in enforce mode, unless the prompt as last listed is approved. */
  async promptRefusal(upstream: string, name: string): Promise<GatewayError | undefined> {
    if (this.options.mode !== 'enforce') return undefined;
    const pin = (await this.pinsOf(upstream)).get(keyOf('prompt', name));
    return pin && pin.pinnedHash === pin.seenHash
      ? undefined
      : notApproved({ upstream, kind: 'prompt', name });
  }

  /**
   * The upstream's pins, read from the store at most once a second: every call checks its tool, and
   * an approval made elsewhere (the CLI, another instance) is seen within PINS_TTL_MS.
   */
  private async pinsOf(upstream: string): Promise<Map<string, PinRecord>> {
    const cached = this.cache.get(upstream);
    if (cached && Date.now() - cached.at < (this.options.cacheMs ?? PINS_TTL_MS)) return cached.pins;
    const pins = new Map(
      (await this.options.store.list(upstream)).map((pin) => [keyOf(pin.kind, pin.name), pin]),
    );
    this.cache.set(upstream, { at: Date.now(), pins });
    return pins;
  }

  /** The definition and its fingerprint, computed once per listed object (the catalog keeps its tools). */
  private fingerprinted(kind: PinKind, item: Params): { definition: PinnedDefinition; hash: string } {
    const known = this.fingerprints.get(item);
    if (known) return known;
    const definition = pinnedDefinition(kind, item);
    const computed = { definition, hash: fingerprint(definition) };
    this.fingerprints.set(item, computed);
    return computed;
  }

  /** Records what was seen; whether the definition may be used as it is now. */
  private async observe(key: PinKey, item: Params, pins: Map<string, PinRecord>): Promise<boolean> {
    const { mode } = this.options;
    const { definition, hash } = this.fingerprinted(key.kind, item);
    const pin = pins.get(keyOf(key.kind, key.name));
    if (pin?.pinnedHash === hash) {
      if (pin.seenHash !== hash) await this.saw(key, hash, definition, false, pins);
      return true;
    }
    const approve = pin === undefined && mode === 'record';
    if (pin?.seenHash !== hash) {
      await this.saw(key, hash, definition, approve, pins);
      if (!approve && pin?.rejectedHash !== hash) this.report(key, hash, definition, pin);
    }
    return approve || mode === 'record';
  }

  private async saw(
    key: PinKey,
    hash: string,
    definition: PinnedDefinition,
    approve: boolean,
    pins: Map<string, PinRecord>,
  ): Promise<void> {
    const seen = { hash, definition: JSON.stringify(definition), at: Date.now() };
    await this.options.store.saw(key, seen, approve);
    const id = keyOf(key.kind, key.name);
    pins.set(id, afterSeeing(pins.get(id), key, seen, approve));
  }

  private report(key: PinKey, hash: string, definition: PinnedDefinition, pin: PinRecord | undefined): void {
    const pinned = pin?.pinnedDefinition ? (JSON.parse(pin.pinnedDefinition) as PinnedDefinition) : undefined;
    const { upstream, kind, name } = key;
    const drift: Drift = {
      upstream,
      kind,
      tool: name,
      change: pinned ? 'changed' : 'new',
      mode: this.options.mode === 'enforce' ? 'enforce' : 'record',
      diff: pinned ? describeDrift(pinned, definition) : [],
      fingerprint: hash,
      pinned: pin?.pinnedHash ?? null,
    };
    const what = `${KIND_WORD[kind]} '${name}' of upstream '${upstream}'`;
    this.options.logger.warn(
      { upstream, kind, name, change: drift.change, diff: drift.diff },
      drift.change === 'new'
        ? `${what} has no approved definition — see: portcullis tools list --upstream ${upstream}`
        : `${what} changed since it was pinned`,
    );
    this.options.onDrift(drift);
  }
}

function notApproved({ upstream, kind, name }: PinKey): GatewayError {
  const option = kind === 'tool' ? '' : ` --kind ${kind}`;
  return new GatewayError(
    'tool_not_approved',
    `${KIND_WORD[kind]} '${name}' of upstream '${upstream}' is not the definition an operator approved — review it with: portcullis tools diff --upstream ${upstream}${option} ${name}, then tools approve`,
    { data: { upstream, kind, name } },
  );
}
