/**
 * The authorization endpoint of SMART App Launch over HTTP
 * (https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code):
 * GET or POST /auth/authorize checks the app's request (auth/authorize-request.ts), then the user
 * logs in: in development on a page that lists the demo professionals (POST
 * /auth/authorize/login), in production at the external OpenID Connect provider (its answer comes
 * back to POST /auth/login/callback). A standalone launch with `launch/patient` then shows the
 * patients in the user's care (POST /auth/authorize/patient). Last, the code goes to the app's
 * redirect URI with its `state`. Between the steps the request travels as a signed session
 * (auth/authorize-session.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CODE_LIFETIME_SECONDS, createGrantWithCode, OFFLINE_GRANT_SECONDS, ONLINE_GRANT_SECONDS } from '../auth/app-grants.js';
import { checkAuthorizeRequest, redirectWith, type AuthorizeErrorCode, type AuthorizeRequest } from '../auth/authorize-request.js';
import { AuthorizeSessions, type AuthorizeSession } from '../auth/authorize-session.js';
import { DEMO_USERS } from '../auth/demo-clients.js';
import { isInCare, patientsInCare } from '../auth/patients-in-care.js';
import { ORGANIZATION_SYSTEMS, parseIdentifier, PRACTITIONER_SYSTEMS, type ActingUser, type Principal } from '../auth/principal.js';
import { ScopeSet } from '../auth/scopes.js';
import type { AuthService } from '../auth/service.js';
import type { Queryable } from '../storage/database.js';
import type { FormBody } from './body-parsers.js';
import { demoLoginPage, loginErrorPage, patientPickPage } from './login-pages.js';

export interface AuthorizeRoutesOptions {
  readonly auth: AuthService;
  readonly db: Queryable;
  /** Development shows the demo login page; production refuses it and logs in externally. */
  readonly mode: 'development' | 'production';
}

/** The demo professionals of src/seed/fixtures.ts, as the login page lists them. */
const DEMO_LOGINS: ReadonlyArray<readonly [string, string]> = [
  ['gp', 'huisarts'],
  ['physio', 'fysiotherapeut'],
  ['nurse', 'wijkverpleegkundige'],
  ['rehab', 'revalidatiearts'],
];

type Params = Record<string, string | string[] | undefined>;

/** Form fields as a record; repeated fields become lists (checked where it matters). */
function formParams(body: unknown): Params | undefined {
  const form = (body as FormBody | undefined)?.form;
  if (!Array.isArray(form)) {
    return undefined;
  }
  const params: Params = {};
  for (const [key, value] of form as ReadonlyArray<readonly [string, string]>) {
    const seen = params[key];
    params[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return params;
}

function one(params: Params | undefined, name: string): string | undefined {
  const value = params?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function demoUser(name: string): ActingUser | undefined {
  const user = DEMO_LOGINS.some(([key]) => key === name) ? DEMO_USERS[name] : undefined;
  const identifier = parseIdentifier(user?.sub, PRACTITIONER_SYSTEMS);
  const organization = parseIdentifier(user?.organization, ORGANIZATION_SYSTEMS);
  return user && identifier && organization ? { identifier, role: user.role, organization, name: user.name } : undefined;
}

/** RFC 6749 §4.1.2.1: the error stays with the user agent, as a page or as OAuth JSON. */
function refuse(request: FastifyRequest, reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  reply.code(status).header('cache-control', 'no-store');
  if ((request.headers.accept ?? '').includes('text/html')) {
    return reply.type('text/html; charset=utf-8').send(loginErrorPage(description));
  }
  return reply.send({ error, error_description: description });
}

function redirectError(reply: FastifyReply, request: AuthorizeRequest, error: AuthorizeErrorCode, description: string): FastifyReply {
  return reply.code(302).header('cache-control', 'no-store').redirect(redirectWith(request.redirectUri, { error, error_description: description, state: request.state }), 302);
}

function html(reply: FastifyReply, body: string): FastifyReply {
  return reply.code(200).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
}

export function registerAuthorizeRoutes(app: FastifyInstance, options: AuthorizeRoutesOptions): void {
  const { auth, db } = options;
  const appName = (clientId: string): string => auth.findClient(clientId)?.registration.name ?? clientId;
  const principalOf = (request: AuthorizeRequest, user: ActingUser): Promise<Principal> =>
    auth.resolve(db, { kind: 'user', clientId: request.clientId, scopes: ScopeSet.parse(request.scope), user });

  /** The last step: a grant and its code, sent to the app. */
  const finish = async (reply: FastifyReply, request: AuthorizeRequest, user: ActingUser, patientId: string | undefined): Promise<FastifyReply> => {
    const words = new Set(request.scope.split(' '));
    const code = await createGrantWithCode(
      db,
      {
        clientId: request.clientId,
        user,
        scope: request.scope,
        ...(patientId !== undefined ? { patientId } : {}),
        ...(request.launch?.encounterId !== undefined ? { encounterId: request.launch.encounterId } : {}),
      },
      {
        redirectUri: request.redirectUri,
        codeChallenge: request.codeChallenge,
        // The code itself lives CODE_LIFETIME_SECONDS; the grant as long as its refresh tokens may.
        grantSeconds: words.has('offline_access') ? OFFLINE_GRANT_SECONDS : words.has('online_access') ? ONLINE_GRANT_SECONDS : CODE_LIFETIME_SECONDS + auth.tokenLifetime,
      }
    );
    return reply.code(302).header('cache-control', 'no-store').redirect(redirectWith(request.redirectUri, { code, state: request.state }), 302);
  };

  /** After the login: the patient pick of a standalone launch, or the code. */
  const loggedIn = async (reply: FastifyReply, session: AuthorizeSession, user: ActingUser): Promise<FastifyReply> => {
    const { request } = session;
    if (!request.pickPatient) {
      return finish(reply, request, user, request.launch?.patientId);
    }
    const patients = await patientsInCare(db, await principalOf(request, user));
    const sealed = await auth.sessions.seal({ request, user });
    return html(reply, patientPickPage('/auth/authorize/patient', sealed, user.name ?? '', patients.map((p) => ({ value: p.id, label: p.display }))));
  };

  const authorize = async (request: FastifyRequest, reply: FastifyReply, params: Params | undefined): Promise<FastifyReply> => {
    if (!params) {
      return refuse(request, reply, 400, 'invalid_request', 'Send the authorization request as query parameters or a form');
    }
    const check = await checkAuthorizeRequest(db, params, { findClient: (id) => auth.findClient(id), audience: auth.audience });
    if ('refuse' in check) {
      return refuse(request, reply, 400, check.refuse, check.description);
    }
    if ('redirect' in check) {
      return reply.code(302).header('cache-control', 'no-store').redirect(redirectWith(check.redirect, { error: check.error, error_description: check.description, state: check.state }), 302);
    }
    const authorizeRequest = check.ok;
    if (options.mode === 'development') {
      const sealed = await auth.sessions.seal({ request: authorizeRequest });
      const users = DEMO_LOGINS.map(([key, label]) => ({ value: key, label: `${DEMO_USERS[key]?.name ?? key}, ${label}` }));
      return html(reply, demoLoginPage('/auth/authorize/login', sealed, appName(authorizeRequest.clientId), users));
    }
    const external = auth.externalLogin;
    if (!external) {
      return redirectError(reply, authorizeRequest, 'server_error', 'No login for users is configured on this server');
    }
    const nonce = AuthorizeSessions.nonce();
    const sealed = await auth.sessions.seal({ request: authorizeRequest, nonce });
    return reply.code(302).header('cache-control', 'no-store').redirect(external.loginUrl(`${auth.issuer}/auth/login/callback`, sealed, nonce), 302);
  };

  app.get('/auth/authorize', async (request, reply) => authorize(request, reply, request.query as Params));
  app.post('/auth/authorize', async (request, reply) => authorize(request, reply, formParams(request.body)));

  // Development's login: pick a demo professional. Production refuses it: no one may log in
  // there without the identity provider (config.ts SCHAKEL_MODE).
  app.post('/auth/authorize/login', async (request, reply) => {
    if (options.mode !== 'development') {
      return refuse(request, reply, 403, 'access_denied', 'The demo login is available in development mode only');
    }
    const params = formParams(request.body);
    const session = await auth.sessions.open(one(params, 'session'));
    if (!session) {
      return refuse(request, reply, 400, 'invalid_request', 'The login has expired or was altered; start again from the app');
    }
    const user = demoUser(one(params, 'user') ?? '');
    if (!user) {
      return redirectError(reply, session.request, 'access_denied', 'No such demo professional');
    }
    return loggedIn(reply, session, user);
  });

  // The external provider's form_post answer (auth/external-login.ts).
  app.post('/auth/login/callback', async (request, reply) => {
    const external = auth.externalLogin;
    if (!external) {
      return refuse(request, reply, 404, 'invalid_request', 'No external login is configured');
    }
    const params = formParams(request.body);
    const session = await auth.sessions.open(one(params, 'state'));
    if (!session || session.nonce === undefined) {
      return refuse(request, reply, 400, 'invalid_request', 'The login has expired or was altered; start again from the app');
    }
    const idToken = one(params, 'id_token');
    const user = idToken === undefined ? undefined : await external.user(idToken, session.nonce);
    if (!user) {
      return redirectError(reply, session.request, 'access_denied', 'The login at the identity provider was not accepted');
    }
    return loggedIn(reply, session, user);
  });

  app.post('/auth/authorize/patient', async (request, reply) => {
    const params = formParams(request.body);
    const session = await auth.sessions.open(one(params, 'session'));
    if (!session?.user || !session.request.pickPatient) {
      return refuse(request, reply, 400, 'invalid_request', 'The login has expired or was altered; start again from the app');
    }
    const patientId = one(params, 'patient');
    if (patientId === undefined || !(await isInCare(db, await principalOf(session.request, session.user), patientId))) {
      return redirectError(reply, session.request, 'access_denied', 'That patient is not in your care');
    }
    return finish(reply, session.request, session.user, patientId);
  });
}
