/**
 * A short-lived HS256 JWT a page carries from one form to the next (the sign-in transaction, the
 * approval page's signed-in state): issued by this gateway, typed so one kind can never stand for
 * another, and worthless after its lifetime. Nothing is kept on the server between the steps, so
 * any instance of a fleet with the same secret can take the next one.
 */
import { type JWTPayload, jwtVerify, SignJWT } from 'jose';

export class SignedFormToken {
  constructor(
    private readonly key: Uint8Array,
    private readonly issuer: string,
    /** The JWT `typ`, e.g. pcl-authz+jwt. */
    private readonly typ: string,
    private readonly lifetimeSeconds: number,
  ) {}

  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: this.typ })
      .setIssuer(this.issuer)
      .setIssuedAt()
      .setExpirationTime(`${this.lifetimeSeconds}s`)
      .sign(this.key);
  }

  /** The claims of a genuine, unexpired token of this kind; undefined for anything else. */
  async verify(token: string): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.issuer,
        typ: this.typ,
      });
      return payload;
    } catch {
      return undefined;
    }
  }
}
