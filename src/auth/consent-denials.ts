/**
 * A patient's objection to sharing, enforced in the same narrowing as the care relation
 * (access-scope.ts). Table consent_denial (005_consent_denial.sql) is kept in step with every
 * Consent write, in the write's transaction, the way care-relations.ts keeps care_relation.
 *
 * A Consent objects when it is `active`, its scope is patient-privacy
 * (https://hl7.org/fhir/R4/codesystem-consentscope.html) and it names a local Patient. Every
 * provision of type `deny` (the base provision and nested ones, https://hl7.org/fhir/R4/consent.html#6.2.1)
 * denies, within its period (or the enclosing provision's):
 * - the Organizations and Practitioners it names in provision.actor (a PractitionerRole stands for
 *   its practitioner, resolved when the Consent is written);
 * - when it names nobody: everyone, except the organisation that recorded the Consent
 *   (Consent.organization), the actors of the permit provisions nested in it, and the patient's
 *   own managing organisation and general practitioner. R4 reads a base deny without actors as
 *   "deny all"; a Dutch GP recording a patient's objection keeps its own record, so the GP practice
 *   stays out of it.
 * Actors that never act as users here (Patient, RelatedPerson, Device) need no row. An actor named
 * by identifier (URA, AGB, UZI) counts as the resource the write resolved it to
 * (repository/identifier-references.ts). Anything else (CareTeam, Group, a reference to another
 * server) is refused with 422: an objection that is stored but not enforced would be worse than none.
 * A deny provision limited to some data (class, code, data, dataPeriod) is enforced for the whole
 * record: sharing less than the patient allowed is the safe side.
 * A denial narrows users only; emergency access (break-the-glass) passes it and is audited with
 * its reason, and system clients are bound by their scopes.
 */
import type { Consent, ConsentProvision, PractitionerRole, Reference } from '@medplum/fhirtypes';
import { parseDateRange } from '../fhir/dates.js';
import { issue, unprocessable } from '../fhir/outcomes.js';
import { parseLocalReference } from '../fhir/references.js';
import type { ResourceChange, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';

/** Everyone (a deny provision that names no actor). */
const EVERYONE = '*';
const DENIED_TYPES: ReadonlySet<string> = new Set(['Organization', 'Practitioner', 'PractitionerRole']);
/** Actors that never hold a token on this server: their denial has nothing to narrow. */
const NON_USERS: ReadonlySet<string> = new Set(['Patient', 'RelatedPerson', 'Device']);

export interface Denial {
  readonly patientId: string;
  /** `Organization/x`, `Practitioner/y`, `PractitionerRole/z` (before resolution) or `*`. */
  readonly actor: string;
  readonly exempt: readonly string[];
  readonly from: string | null;
  readonly until: string | null;
}

interface Period {
  readonly from: string | null;
  readonly until: string | null;
}

/** The condition that a patient id (an SQL expression) has denied the caller's actors (an SQL text[]). */
export function consentDenies(patientId: string, actors: string, now = 'now()'): string {
  return `EXISTS (SELECT 1 FROM consent_denial d WHERE d.patient_id = ${patientId}
            AND (d.valid_from IS NULL OR d.valid_from <= ${now}) AND (d.valid_until IS NULL OR d.valid_until > ${now})
            AND (d.actor = ANY(${actors}::text[])
                 OR (d.actor = '${EVERYONE}' AND NOT (d.exempt && ${actors}::text[])
                     AND NOT EXISTS (SELECT 1 FROM care_relation m WHERE m.patient_id = d.patient_id
                                       AND m.source_type = 'Patient' AND m.actor = ANY(${actors}::text[])))))`;
}

function isPrivacyConsent(consent: Consent): boolean {
  return consent.status === 'active' && (consent.scope?.coding ?? []).some((c) => c.system === CONSENT_SCOPE_SYSTEM && c.code === 'patient-privacy');
}

function periodOf(provision: ConsentProvision, enclosing: Period, path: string): Period {
  const { start, end } = provision.period ?? {};
  if (start === undefined && end === undefined) {
    return enclosing;
  }
  const from = start === undefined ? undefined : parseDateRange(start)?.start;
  const until = end === undefined ? undefined : parseDateRange(end)?.end;
  if ((start !== undefined && from === undefined) || (end !== undefined && until === undefined)) {
    throw unprocessable([issue({ code: 'invalid', text: 'The provision period is not a valid date range', expression: `${path}.period` })]);
  }
  return { from: from?.toISOString() ?? null, until: until?.toISOString() ?? null };
}

function actorKey(reference: Reference | undefined, baseUrl: string | undefined, path: string): string | undefined {
  const local = reference?.reference === undefined ? undefined : parseLocalReference(reference.reference, baseUrl);
  if (local && NON_USERS.has(local.resourceType)) {
    return undefined;
  }
  if (!local || !DENIED_TYPES.has(local.resourceType)) {
    throw unprocessable([
      issue({
        code: 'not-supported',
        text: 'An objection is enforced for a local Organization, Practitioner or PractitionerRole reference only',
        expression: `${path}.reference`,
      }),
    ]);
  }
  return `${local.resourceType}/${local.id}`;
}

function keysOf(provision: ConsentProvision, baseUrl: string | undefined, path: string): string[] {
  return (provision.actor ?? [])
    .map((actor, i) => actorKey(actor.reference, baseUrl, `${path}.actor[${i}]`))
    .filter((key): key is string => key !== undefined);
}

/** The denials an objection Consent establishes; none for any other Consent. */
export function denialsOf(consent: Consent, baseUrl?: string): Denial[] {
  const patient = consent.patient?.reference === undefined ? undefined : parseLocalReference(consent.patient.reference, baseUrl);
  if (!isPrivacyConsent(consent) || patient?.resourceType !== 'Patient' || consent.provision === undefined) {
    return [];
  }
  const patientId = patient.id;
  const recorders = (consent.organization ?? []).flatMap((o) => {
    const local = o.reference === undefined ? undefined : parseLocalReference(o.reference, baseUrl);
    return local ? [`${local.resourceType}/${local.id}`] : [];
  });
  const out: Denial[] = [];
  const walk = (provision: ConsentProvision, enclosing: Period, path: string): void => {
    const period = periodOf(provision, enclosing, path);
    const nested = provision.provision ?? [];
    if (provision.type === 'deny') {
      const named = (provision.actor ?? []).length > 0;
      if (!named) {
        const permitted = nested.flatMap((p, i) => (p.type === 'permit' ? keysOf(p, baseUrl, `${path}.provision[${i}]`) : []));
        out.push({ patientId, actor: EVERYONE, exempt: [...new Set([...recorders, ...permitted])], ...period });
      }
      for (const actor of keysOf(provision, baseUrl, path)) {
        out.push({ patientId, actor, exempt: [], ...period });
      }
    }
    nested.forEach((p, i) => walk(p, period, `${path}.provision[${i}]`));
  };
  walk(consent.provision, { from: null, until: null }, 'Consent.provision');
  return out;
}

/** PractitionerRole actors become their practitioner: the person the patient objects to. */
async function resolveRoles(tx: Queryable, denials: readonly Denial[]): Promise<Denial[]> {
  const roles = [...new Set(denials.filter((d) => d.actor.startsWith('PractitionerRole/')).map((d) => d.actor.slice('PractitionerRole/'.length)))];
  if (roles.length === 0) {
    return [...denials];
  }
  const rows = await tx.query<{ id: string; content: string | null }>(
    `SELECT id, content FROM resource WHERE resource_type = 'PractitionerRole' AND id = ANY($1::text[]) AND NOT deleted`,
    [roles]
  );
  const practitioner = new Map<string, string>();
  for (const row of rows) {
    const role = row.content === null ? undefined : (JSON.parse(row.content) as PractitionerRole);
    const local = role?.practitioner?.reference === undefined ? undefined : parseLocalReference(role.practitioner.reference);
    if (local?.resourceType === 'Practitioner') {
      practitioner.set(`PractitionerRole/${row.id}`, `Practitioner/${local.id}`);
    }
  }
  return denials.map((d) => {
    if (!d.actor.startsWith('PractitionerRole/')) {
      return d;
    }
    const actor = practitioner.get(d.actor);
    if (actor === undefined) {
      throw unprocessable([
        issue({ code: 'not-supported', text: 'An objection to a PractitionerRole needs a role with a local practitioner', expression: 'Consent.provision' }),
      ]);
    }
    return { ...d, actor };
  });
}

export function createConsentDenialIndexer(): WriteListener {
  const listener: WriteListener = {
    async onWrite(tx: Queryable, change: ResourceChange): Promise<void> {
      await listener.onWrites?.(tx, [change]);
    },
    async onWrites(tx: Queryable, changes: readonly ResourceChange[]): Promise<void> {
      const consents = changes.filter((c) => c.version.resourceType === 'Consent');
      if (consents.length === 0) {
        return;
      }
      // A new version replaces what the previous one denied; a deleted or inactive Consent denies nothing.
      await tx.query('DELETE FROM consent_denial WHERE source_id = ANY($1::text[])', [consents.map((c) => c.version.id)]);
      const rows: Array<Denial & { source: string }> = [];
      for (const change of consents) {
        if (change.kind !== 'delete' && change.resource?.resourceType === 'Consent') {
          const denials = await resolveRoles(tx, denialsOf(change.resource, change.baseUrl));
          rows.push(...denials.map((d) => ({ ...d, source: change.version.id })));
        }
      }
      if (rows.length === 0) {
        return;
      }
      // exempt lists travel as JSON: unnest cannot take a text[][] of ragged rows.
      await tx.query(
        `INSERT INTO consent_denial (patient_id, actor, exempt, source_id, valid_from, valid_until)
         SELECT t.patient_id, t.actor, ARRAY(SELECT json_array_elements_text(t.exempt::json)), t.source_id, t.valid_from, t.valid_until
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
             AS t(patient_id, actor, exempt, source_id, valid_from, valid_until)`,
        [
          rows.map((r) => r.patientId),
          rows.map((r) => r.actor),
          rows.map((r) => JSON.stringify(r.exempt)),
          rows.map((r) => r.source),
          rows.map((r) => r.from),
          rows.map((r) => r.until),
        ]
      );
    },
  };
  return listener;
}
