/**
 * The console's entry: finishes a SMART launch (an EHR launch `?iss&launch`, the redirect back with
 * `?code&state`, or a standalone start), then draws the page the hash names.
 */
import { showFatal, start } from './app-shell.js';
import './styles.css';
import { authorize, completeAuthorization, fhirBase, LaunchError, scheduleRefresh } from './smart/launch.js';

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
  if (returnTo !== '' && returnTo !== location.hash) {
    history.replaceState(null, '', returnTo);
  }
  scheduleRefresh();
  start();
}

launch().catch((error: unknown) => showFatal(error));
