/**
 * What a scope lets an application do, in words for the person at the consent page (the README's
 * scope table, src/policy/vocabulary.ts, says the same for operators). A scope this list does not
 * know — one named in `policy.rules` — is shown by name with a generic line, never hidden: the
 * user must see everything they grant.
 */
import { SCOPES } from '../../policy/vocabulary.js';

const FIXED: Readonly<Record<string, string>> = {
  [SCOPES.toolsRead]: 'Use tools that only read data',
  [SCOPES.toolsWrite]: 'Use tools that can change data',
  [SCOPES.toolsDestructive]: 'Use tools that can delete or overwrite data',
  [SCOPES.resourcesRead]: 'Read resources and subscribe to their changes',
  [SCOPES.promptsRead]: 'List and use prompts',
  '*': 'Everything you can do on this server, including tools that delete data',
};

const LEVELS: Readonly<Record<string, string>> = {
  read: 'Use tools that only read data, and read resources and prompts',
  write: 'Use tools that can change data',
  destructive: 'Use tools that can delete or overwrite data',
};

/**
 * @param upstreams the mounted upstream names, so `files:read` reads "… on files" and an unknown
 *   `x:read` is not mistaken for an upstream scope
 */
export function describeScope(scope: string, upstreams: readonly string[] = []): string {
  const fixed = FIXED[scope];
  if (fixed !== undefined) return fixed;
  const colon = scope.lastIndexOf(':');
  const prefix = scope.slice(0, colon);
  const suffix = scope.slice(colon + 1);
  if (colon > 0 && suffix === '*') {
    if (prefix === 'tools') return 'Use every tool, including tools that delete or overwrite data';
    if (upstreams.includes(prefix))
      return `Everything on ${prefix}, including tools that delete or overwrite data`;
    return `Every permission that starts with “${prefix}:”`;
  }
  const level = LEVELS[suffix];
  if (colon > 0 && level !== undefined && upstreams.includes(prefix)) return `${level}, on ${prefix} only`;
  return 'A permission the operator of this server defined for specific tools or data';
}
