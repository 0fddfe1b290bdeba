/**
 * The OpenID Connect id_token of a SMART app's token response, when the app asked for `openid
 * fhirUser` (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data):
 * signed with Schakel's token key (published at /auth/jwks), addressed to the app (aud = client
 * id), naming the user (sub: their UZI/BIG/AGB identifier as system|value) and their FHIR
 * resource (`fhirUser`, an absolute URL).
 */
import { SignJWT } from 'jose';
import { formatIdentifier, type ActingUser } from './principal.js';
import type { SigningKeys } from './signing-keys.js';

export interface IdTokenContent {
  readonly clientId: string;
  readonly user: ActingUser;
  /** Absolute URL of the user's Practitioner, when this server knows it. */
  readonly fhirUser: string | undefined;
}

export async function issueIdToken(signingKeys: SigningKeys, issuer: string, lifetimeSeconds: number, content: IdTokenContent): Promise<string> {
  const key = signingKeys.current;
  return new SignJWT({
    ...(content.fhirUser !== undefined ? { fhirUser: content.fhirUser } : {}),
    ...(content.user.name !== undefined ? { name: content.user.name } : {}),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(formatIdentifier(content.user.identifier))
    .setAudience(content.clientId)
    .setIssuedAt()
    .setExpirationTime(`${lifetimeSeconds}s`)
    .sign(key.privateKey);
}
