/**
 * The `subscriptions/listen` streams of one bridged upstream session: each gets the 2025
 * notifications its filter wants, tagged with its listen id, and a resource subscription is held
 * upstream while at least one stream wants it (a count per URI).
 */
import type { RequestId } from '../../core/errors.js';
import type { JsonRpcNotification, Params } from '../../core/jsonrpc.js';
import type { UpstreamLink } from '../upstream-link.js';
import { acknowledgement, type ListenFilter, listenFilter, taggedFor, wantedBy } from './bridge-translate.js';
import type { ModernExchange } from './exchange.js';

interface Listener {
  readonly id: RequestId;
  readonly filter: ListenFilter;
  readonly exchange: ModernExchange;
}

export class BridgeListeners {
  private readonly listeners = new Set<Listener>();
  private readonly subscriptions = new Map<string, number>();

  constructor(
    private readonly link: UpstreamLink,
    /** Told when a stream ends (the bridge's idle clock). */
    private readonly onEnd: () => void,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Acknowledges what the upstream's capabilities let it honour, then streams matching notifications. */
  async listen(
    id: RequestId,
    wanted: Params,
    capabilities: Record<string, Params | undefined>,
    exchange: ModernExchange,
  ): Promise<void> {
    const filter = listenFilter(wanted, capabilities);
    for (const uri of filter.uris) await this.subscribe(uri);
    const listener: Listener = { id, filter, exchange };
    this.listeners.add(listener);
    exchange.onclose = () => {
      this.listeners.delete(listener);
      for (const uri of filter.uris) void this.unsubscribe(uri);
      this.onEnd();
    };
    exchange.notify(acknowledgement(filter, id));
  }

  /** Hands a list_changed or resource update to every stream that wants it. */
  deliver(message: JsonRpcNotification): void {
    for (const listener of this.listeners)
      if (wantedBy(message, listener.filter)) listener.exchange.notify(taggedFor(message, listener.id));
  }

  /** Ends every stream without an answer: the bridge is closing. */
  abandonAll(): void {
    for (const listener of this.listeners) listener.exchange.abandon();
  }

  private async subscribe(uri: string): Promise<void> {
    const count = this.subscriptions.get(uri) ?? 0;
    this.subscriptions.set(uri, count + 1);
    if (count === 0)
      await this.link.request({ jsonrpc: '2.0', id: 0, method: 'resources/subscribe', params: { uri } })
        .response;
  }

  private async unsubscribe(uri: string): Promise<void> {
    const count = (this.subscriptions.get(uri) ?? 1) - 1;
    if (count > 0) {
      this.subscriptions.set(uri, count);
      return;
    }
    this.subscriptions.delete(uri);
    await this.link
      .request({ jsonrpc: '2.0', id: 0, method: 'resources/unsubscribe', params: { uri } })
      .response.catch(() => undefined);
  }
}
