/**
 * The HTML pages of the SMART App Launch login (http/app-launch-routes.ts): development's pick of
 * a demo professional, and the pick of a patient in care for a standalone launch. Minimal,
 * server-rendered, in Dutch, and safe under the server's content security policy
 * (security-headers.ts: `default-src 'none'`): plain forms, no script, no style, every value
 * escaped. The signed authorization session (auth/authorize-session.ts) rides in a hidden field.
 */

export interface PageChoice {
  readonly value: string;
  readonly label: string;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="nl">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head>
<body>
<main>
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function choiceForm(action: string, session: string, field: string, choices: readonly PageChoice[], button: string): string {
  const options = choices
    .map((c, i) => `<p><label><input type="radio" name="${field}" value="${escape(c.value)}"${i === 0 ? ' checked' : ''} required> ${escape(c.label)}</label></p>`)
    .join('\n');
  return `<form method="post" action="${escape(action)}">
<input type="hidden" name="session" value="${escape(session)}">
<fieldset>
${options}
</fieldset>
<p><button type="submit">${escape(button)}</button></p>
</form>`;
}

/** Development only: log in as one of the demo professionals. */
export function demoLoginPage(action: string, session: string, appName: string, users: readonly PageChoice[]): string {
  return page(
    'Inloggen bij Schakel (ontwikkelomgeving)',
    `<p>${escape(appName)} vraagt toegang tot Schakel namens u. Kies een demo-zorgverlener om als die in te loggen.</p>
<p><strong>Alleen voor ontwikkeling:</strong> er wordt geen wachtwoord gevraagd.</p>
${choiceForm(action, session, 'user', users, 'Inloggen')}`
  );
}

/** Standalone launch: pick the patient the app works on, among those in the user's care. */
export function patientPickPage(action: string, session: string, userName: string, patients: readonly PageChoice[]): string {
  if (patients.length === 0) {
    return page('Geen cliënten', `<p>${escape(userName)} heeft op dit moment geen zorgrelatie met een cliënt in Schakel.</p>`);
  }
  return page(
    'Kies een cliënt',
    `<p>Ingelogd als ${escape(userName)}. Kies de cliënt met wie u de app wilt gebruiken; u ziet alleen cliënten met wie u een zorgrelatie heeft.</p>
${choiceForm(action, session, 'patient', patients, 'Verder')}`
  );
}

/** A login that cannot go on and cannot go back to the app (RFC 6749 §4.1.2.1). */
export function loginErrorPage(text: string): string {
  return page('Inloggen niet mogelijk', `<p>${escape(text)}</p>`);
}
