/** Who is calling. Every stage after authentication sees only this, never the raw credential. */
export type PrincipalKind = 'anonymous' | 'api-key' | 'basic' | 'oauth' | 'jwt';

export interface Principal {
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly clientId?: string;
  readonly scopes: readonly string[];
  /** Named scope sets (policy.roles) the principal holds besides its scopes. */
  readonly roles?: readonly string[];
}
