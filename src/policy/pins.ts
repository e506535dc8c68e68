/**
 * Tool pinning, against definition drift ("rug pulls"): an upstream that changes a tool's
 * description, schema or annotations after people approved it, to steer the model or to make a
 * write tool look read-only. Each tool's definition is fingerprinted (pin-diff.ts) and kept per
 * upstream in the store:
 * - `record` pins a tool on first sight and reports a later change (a `tool.drift` audit event with
 *   a readable diff); the tool keeps working;
 * - `enforce` also hides a tool whose definition is not the approved one — a tool never approved
 *   included — from lists, and refuses calls to it, until an operator approves it
 *   (`portcullis tools approve`).
 * Every instance reads the pins from the store, so an approval takes effect at the next list or call.
 */
import { GatewayError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { Logger } from '../log/logger.js';
import type { PinRecord, PinStore } from '../store/store.js';
import { describeDrift, fingerprint, type PinnedDefinition, pinnedDefinition } from './pin-diff.js';

export type PinningMode = 'off' | 'record' | 'enforce';

export interface Drift {
  readonly upstream: string;
  readonly tool: string;
  readonly change: 'new' | 'changed';
  readonly mode: 'record' | 'enforce';
  readonly diff: readonly string[];
  readonly fingerprint: string;
  readonly pinned: string | null;
}

export interface ToolPinsOptions {
  readonly mode: PinningMode;
  readonly store: PinStore;
  /** Told once for each definition that differs from its pin (the audit trail, metrics). */
  readonly onDrift: (drift: Drift) => void;
  readonly logger: Logger;
}

export class ToolPins {
  constructor(private readonly options: ToolPinsOptions) {}

  get mode(): PinningMode {
    return this.options.mode;
  }

  /** The mode and, per upstream, how many tools seen are not approved (for /readyz: counts, not names). */
  async summary(): Promise<{ mode: PinningMode; notApproved: Record<string, number> }> {
    const notApproved: Record<string, number> = {};
    for (const pin of await this.options.store.list())
      if (pin.pinnedHash !== pin.seenHash) notApproved[pin.upstream] = (notApproved[pin.upstream] ?? 0) + 1;
    return { mode: this.options.mode, notApproved };
  }

  /** The tools of a tools/list page a client may see: all of them, but in enforce mode the approved ones. */
  async screen(upstream: string, tools: readonly unknown[]): Promise<unknown[]> {
    if (this.options.mode === 'off') return [...tools];
    const pins = await this.pinsOf(upstream);
    const visible: unknown[] = [];
    for (const tool of tools) {
      if (tool === null || typeof tool !== 'object' || typeof (tool as Params).name !== 'string') continue;
      if (await this.observe(upstream, tool as Params, pins)) visible.push(tool);
    }
    return visible;
  }

  /** The refusal of a call to `tool` (its definition as listed now) in enforce mode, if not approved. */
  async refusal(upstream: string, tool: Params | undefined): Promise<GatewayError | undefined> {
    if (this.options.mode === 'off' || !tool) return undefined;
    if (await this.observe(upstream, tool, await this.pinsOf(upstream))) return undefined;
    const name = String(tool.name);
    return new GatewayError(
      'tool_not_approved',
      `tool '${name}' of upstream '${upstream}' is not the definition an operator approved — review it with: portcullis tools diff --upstream ${upstream} ${name}, then tools approve`,
      { data: { upstream, tool: name } },
    );
  }

  private async pinsOf(upstream: string): Promise<Map<string, PinRecord>> {
    return new Map((await this.options.store.list(upstream)).map((pin) => [pin.name, pin]));
  }

  /** Records what was seen; whether the tool may be used as it is now. */
  private async observe(upstream: string, tool: Params, pins: Map<string, PinRecord>): Promise<boolean> {
    const { mode } = this.options;
    const name = String(tool.name);
    const definition = pinnedDefinition(tool);
    const hash = fingerprint(definition);
    const pin = pins.get(name);
    if (pin?.pinnedHash === hash) {
      if (pin.seenHash !== hash) await this.saw(upstream, name, hash, definition, false, pins);
      return true;
    }
    const firstSight = pin === undefined;
    const approve = firstSight && mode === 'record';
    if (pin?.seenHash !== hash) {
      await this.saw(upstream, name, hash, definition, approve, pins);
      if (!approve && pin?.rejectedHash !== hash) this.report(upstream, name, hash, definition, pin);
    }
    return approve || mode === 'record';
  }

  private async saw(
    upstream: string,
    name: string,
    hash: string,
    definition: PinnedDefinition,
    approve: boolean,
    pins: Map<string, PinRecord>,
  ): Promise<void> {
    const json = JSON.stringify(definition);
    const at = Date.now();
    await this.options.store.saw(upstream, name, hash, json, at, approve);
    const before = pins.get(name);
    pins.set(name, {
      upstream,
      name,
      pinnedHash: approve ? hash : (before?.pinnedHash ?? null),
      pinnedDefinition: approve ? json : (before?.pinnedDefinition ?? null),
      pinnedAt: approve ? at : (before?.pinnedAt ?? null),
      seenHash: hash,
      seenDefinition: json,
      seenAt: at,
      rejectedHash: before?.rejectedHash ?? null,
    });
  }

  private report(
    upstream: string,
    tool: string,
    hash: string,
    definition: PinnedDefinition,
    pin: PinRecord | undefined,
  ): void {
    const pinned = pin?.pinnedDefinition ? (JSON.parse(pin.pinnedDefinition) as PinnedDefinition) : undefined;
    const drift: Drift = {
      upstream,
      tool,
      change: pinned ? 'changed' : 'new',
      mode: this.options.mode === 'enforce' ? 'enforce' : 'record',
      diff: pinned ? describeDrift(pinned, definition) : [],
      fingerprint: hash,
      pinned: pin?.pinnedHash ?? null,
    };
    this.options.logger.warn(
      { upstream, tool, change: drift.change, diff: drift.diff },
      drift.change === 'new'
        ? `tool '${tool}' of upstream '${upstream}' has no approved definition — portcullis tools approve --upstream ${upstream} ${tool}`
        : `tool '${tool}' of upstream '${upstream}' changed since it was pinned`,
    );
    this.options.onDrift(drift);
  }
}
