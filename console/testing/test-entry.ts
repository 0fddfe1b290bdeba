/**
 * The browser tests' entry (test/console/): the console as main.ts starts it, with the session
 * the test obtained (SMART Backend Services) put into the same in-memory slot the SMART flow fills.
 * Never imported by main.ts, so the production bundle has no way to take a token from outside.
 */
import '../styles.css';
import { start } from '../app-shell.js';
import { setSession } from '../smart/session.js';

interface Handed {
  readonly accessToken: string;
  readonly fhirUser: string;
  readonly userName: string;
  readonly patient?: string;
}

const handed = (globalThis as { schakelTestSession?: Handed }).schakelTestSession;
if (handed !== undefined) {
  setSession({
    accessToken: handed.accessToken,
    expiresAt: undefined,
    refreshToken: undefined,
    scope: 'user/*.cruds',
    fhirUser: handed.fhirUser,
    patient: handed.patient,
    userName: handed.userName,
    tokenEndpoint: undefined,
    clientId: undefined,
  });
}
start();
