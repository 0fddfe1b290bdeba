/**
 * Token endpoint errors (RFC 6749 §5.2) as OperationOutcomeErrors, the service's one error type:
 * the OAuth error code rides in the issue's details coding, and http/ writes the OAuth JSON body.
 * Bearer token failures (RFC 6750 §3.1) are 401 outcomes with issue code `login` (no token) or
 * `security` (a token that does not verify); http/ adds WWW-Authenticate.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { OperationOutcomeError, outcome } from '../fhir/outcomes.js';

export const OAUTH_ERROR_SYSTEM = 'urn:ietf:rfc:6749';

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

export function oauthError(code: OAuthErrorCode, text: string): OperationOutcomeError {
  return new OperationOutcomeError(
    outcome(code === 'invalid_client' ? 'unauthorized' : 'bad-request', [
      {
        severity: 'error',
        code: code === 'invalid_client' ? 'security' : 'invalid',
        details: { coding: [{ system: OAUTH_ERROR_SYSTEM, code }], text },
      },
    ])
  );
}

/** The OAuth error code an outcome carries, if it is a token endpoint error. */
export function oauthErrorCode(value: OperationOutcome): OAuthErrorCode | undefined {
  const coding = value.issue?.[0]?.details?.coding?.find((c) => c.system === OAUTH_ERROR_SYSTEM);
  return coding?.code as OAuthErrorCode | undefined;
}

/** 401 for a request without a usable bearer token; `presented` tells a bad token from none. */
export function invalidToken(presented: boolean, text: string): OperationOutcomeError {
  return new OperationOutcomeError(
    outcome('unauthorized', [{ severity: 'error', code: presented ? 'security' : 'login', details: { text } }])
  );
}
