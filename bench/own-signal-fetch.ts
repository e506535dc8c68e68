/**
 * A fetch for the SDK HTTP client transport the bench clients use. The transport passes its one long-lived AbortSignal
 * to every fetch, and undici adds an abort listener to it per request that only a garbage
 * collection removes: after ~1,500 calls on one upstream session Node warns of a listener leak and
 * each call pays for the longer list. Each POST therefore gets its own signal, linked to the
 * transport's until the response headers arrive; GET streams keep the transport's signal.
 */
export async function ownSignalPerPost(url: string | URL, init?: RequestInit): Promise<Response> {
  const outer = init?.signal;
  if (!outer || init?.method !== 'POST') return fetch(url, init);
  const own = new AbortController();
  const abort = () => own.abort(outer.reason);
  if (outer.aborted) abort();
  else outer.addEventListener('abort', abort, { once: true });
  try {
    return await fetch(url, { ...init, signal: own.signal });
  } finally {
    outer.removeEventListener('abort', abort);
  }
}
