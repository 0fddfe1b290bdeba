/**
 * EHR launch and token revocation over HTTP, the two SMART App Launch endpoints besides
 * /auth/authorize and /auth/token:
 * - POST /auth/launch (form: `patient`, optionally `encounter`): an EHR, as a backend-services
 *   client with a bearer token that may read the Patient, creates a launch context and gets an
 *   opaque, short-lived `launch` value to open the app with
 *   (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch). A user-context
 *   EHR may only launch for a patient in its user's care. Errors are OperationOutcomes.
 * - POST /auth/revoke (RFC 7009, form: `token`, `client_id`): ends the app grant behind a refresh
 *   or access token; OAuth JSON errors.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createLaunch, LAUNCH_LIFETIME_SECONDS } from '../auth/app-grants.js';
import { oauthErrorCode } from '../auth/oauth-errors.js';
import { isInCare, resourceExists } from '../auth/patients-in-care.js';
import { revokeToken } from '../auth/revocation.js';
import type { AuthService } from '../auth/service.js';
import { badRequest, forbidden, isOperationOutcomeError, notFound, statusOf } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import type { FormBody } from './body-parsers.js';

export interface LaunchRoutesOptions {
  readonly auth: AuthService;
  readonly db: Queryable;
}

/** A form's fields; undefined for a body that is not a form or names a field twice (RFC 6749 §3.2). */
function formFields(body: unknown): Record<string, string> | undefined {
  const form = (body as FormBody | undefined)?.form;
  if (!Array.isArray(form)) {
    return undefined;
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of form as ReadonlyArray<readonly [string, string]>) {
    if (key in fields) {
      return undefined;
    }
    fields[key] = value;
  }
  return fields;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function registerLaunchRoutes(app: FastifyInstance, options: LaunchRoutesOptions): void {
  const { auth, db } = options;

  app.post('/auth/launch', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const header = request.headers.authorization;
    const principal = await auth.authenticate(db, header).catch((error: unknown) => {
      reply.header('www-authenticate', header === undefined ? 'Bearer realm="schakel"' : 'Bearer realm="schakel", error="invalid_token"');
      throw error;
    });
    if (!principal.scopes.allows('Patient', 'r')) {
      throw forbidden('Creating a launch context needs read access to Patient');
    }
    const fields = formFields(request.body);
    const patient = fields?.['patient'];
    const encounter = fields?.['encounter'] === '' ? undefined : fields?.['encounter'];
    if (patient === undefined || !FHIR_ID.test(patient) || (encounter !== undefined && !FHIR_ID.test(encounter))) {
      throw badRequest('Send a form with patient (a Patient id) and optionally encounter (an Encounter id)', 'patient');
    }
    const visible = principal.kind === 'system' || principal.emergency !== undefined ? await resourceExists(db, 'Patient', patient) : await isInCare(db, principal, patient);
    if (!visible) {
      // As for a read: a patient outside the caller's care is answered as one that does not exist.
      throw notFound(`Patient/${patient} is not known`);
    }
    if (encounter !== undefined && !(await resourceExists(db, 'Encounter', encounter))) {
      throw notFound(`Encounter/${encounter} is not known`);
    }
    const launch = await createLaunch(db, principal.clientId, { patientId: patient, ...(encounter !== undefined ? { encounterId: encounter } : {}) });
    return reply.code(201).send({ launch, expires_in: LAUNCH_LIFETIME_SECONDS });
  });

  app.post('/auth/revoke', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const fields = formFields(request.body);
    if (!fields) {
      return reply.code(400).send({ error: 'invalid_request', error_description: 'Send the revocation request form-encoded, each field once' });
    }
    try {
      await revokeToken(db, fields, (id) => auth.findClient(id), auth.tokens);
      return reply.code(200).send();
    } catch (error) {
      const code = isOperationOutcomeError(error) ? oauthErrorCode(error.outcome) : undefined;
      if (!isOperationOutcomeError(error) || code === undefined) {
        throw error;
      }
      return reply.code(statusOf(error.outcome)).send({ error: code, error_description: error.outcome.issue?.[0]?.details?.text ?? code });
    }
  });
}
