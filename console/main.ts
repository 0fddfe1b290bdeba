/**
 * The console's entry: finishes a SMART launch (an EHR launch `?iss&launch`, the redirect back with
 * `?code&state`, or a standalone start), then draws the page the hash names.
 */
import { showFatal, start } from './app-shell.js';
import './styles.css';
import { authorize, completeAuthorization, fhirBase, LaunchError, scheduleRefresh } from './smart/launch.js';
import { currentSession } from './smart/session.js';

async function launch(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const iss = params.get('iss');
  if (iss !== null) {
    // EHR launch: the console only works with the server that serves it (launch.ts, authorize).
    if (iss.replace(/\/$/, '') !== fhirBase()) {
      throw new LaunchError('Deze console hoort bij een andere FHIR-server (iss).');
    }
    await authorize({ launch: params.get('launch') ?? undefined, returnTo: '' });
    return;
  }
  const returnTo = await completeAuthorization(params);
  if (returnTo === undefined) {
    await authorize({ returnTo: location.hash });
    return;
  }
  // After an EHR launch with a patient the console opens on that patient.
  const patient = currentSession()?.patient;
  const target = returnTo === '' && patient !== undefined ? `#/patient/${encodeURIComponent(patient.replace(/^Patient\//, ''))}` : returnTo;
  if (target !== '' && target !== location.hash) {
    history.replaceState(null, '', target);
  }
  scheduleRefresh();
  start();
}

launch().catch((error: unknown) => showFatal(error));
