/**
 * The signed-in session: tokens in this module's memory only, never in localStorage or
 * sessionStorage (SMART App Launch 2.x, "App protection": a token in web storage is readable by
 * any script of the origin and outlives the tab). A reload signs in again.
 */
export interface Session {
  readonly accessToken: string;
  /** Seconds since the epoch when the access token expires, if the server said. */
  readonly expiresAt: number | undefined;
  readonly refreshToken: string | undefined;
  readonly scope: string;
  /** The user's own FHIR resource (SMART `fhirUser`), as a relative reference: `Practitioner/x`. */
  readonly fhirUser: string | undefined;
  /** Launch context: the patient the EHR or the user chose (SMART `patient`). */
  readonly patient: string | undefined;
  readonly userName: string | undefined;
  readonly tokenEndpoint: string | undefined;
  readonly clientId: string | undefined;
}

let current: Session | undefined;
const listeners = new Set<() => void>();

export function currentSession(): Session | undefined {
  return current;
}

/** The one slot the SMART flow (launch.ts) fills, and refresh replaces. */
export function setSession(session: Session | undefined): void {
  current = session;
  for (const listener of listeners) {
    listener();
  }
}

export function onSessionChange(listener: () => void): void {
  listeners.add(listener);
}
