// capabilities: https://hl7.org/fhir/R4/http.html#capabilities
/**
 * The CapabilityStatement is generated from what is wired: the handler table of dispatch, the
 * routes table, the search definitions and the operation registry. Nothing here is a claim that
 * the code does not back.
 */
import { readFileSync } from 'node:fs';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
} from '@medplum/fhirtypes';
import { accessDocumentation } from '../auth/access-documentation.js';
import { AUDIT_SEARCH_PARAMS } from '../audit/audit-trail.js';
import { r4ResourceTypes } from '../fhir/definitions.js';
import type { InteractionCode } from '../fhir/request.js';
import type { OperationHandler, OperationRegistry } from '../operations/registry.js';
import type { SearchService } from '../search/types.js';
import { SHIPPED_TOPICS } from '../subscriptions/subscription-topics.js';

// The Backport IG's way to list the topics a server offers on its Subscription resource entry
// (https://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition-capabilitystatement-subscriptiontopic-canonical.html).
const TOPIC_CANONICAL = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const STARTED = new Date().toISOString();

type TypeInteraction = 'read' | 'vread' | 'update' | 'patch' | 'delete' | 'history-instance' | 'history-type' | 'create' | 'search-type';
const TYPE_INTERACTIONS: readonly TypeInteraction[] = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
];

export interface CapabilityInput {
  readonly implemented: ReadonlySet<InteractionCode>;
  readonly search: SearchService;
  readonly operations: OperationRegistry;
  /** Profiles (canonical URLs) per resource type that the server validates against. */
  readonly supportedProfiles?: (resourceType: string) => string[];
  readonly baseUrl: string;
  /**
   * Whether the server checks on write that local reference targets exist (config
   * REFERENTIAL_INTEGRITY_ON_WRITE): `enforced` in referencePolicy claims exactly that.
   */
  readonly referencesEnforced: boolean;
}

function operationEntry(op: OperationHandler): CapabilityStatementRestResourceOperation {
  return { name: op.name, definition: op.definition.url as string };
}

function resourceEntry(input: CapabilityInput, type: string): CapabilityStatementRestResource {
  const has = (code: InteractionCode): boolean => input.implemented.has(code);
  const all = has('search-type') ? input.search.capabilities(type) : undefined;
  // The audit log (audit/audit-log.ts) answers read, vread, history and its own searches only.
  const auditLog = type === 'AuditEvent';
  const search =
    all && auditLog
      ? { searchInclude: [], searchRevInclude: [], searchParam: all.searchParam.filter((p) => AUDIT_SEARCH_PARAMS.has(p.name) || p.name === '_id' || p.name === '_lastUpdated') }
      : all;
  const typeInteraction = (code: TypeInteraction): boolean => has(code) && (!auditLog || ['read', 'vread', 'history-instance', 'search-type'].includes(code));
  const operations = input.operations.forType(type);
  const profiles = input.supportedProfiles?.(type) ?? [];
  const documentation = accessDocumentation(type);
  return {
    ...(type === 'Subscription' ? { extension: SHIPPED_TOPICS.map((t) => ({ url: TOPIC_CANONICAL, valueCanonical: t.url })) } : {}),
    type: type as CapabilityStatementRestResource['type'],
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    ...(profiles.length > 0 ? { supportedProfile: profiles } : {}),
    ...(documentation !== undefined ? { documentation } : {}),
    interaction: TYPE_INTERACTIONS.filter(typeInteraction).map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: has('vread'),
    updateCreate: has('update'),
    conditionalCreate: has('create'),
    conditionalRead: 'full-support',
    conditionalUpdate: has('conditional-update'),
    conditionalDelete: has('conditional-delete') ? 'single' : 'not-supported',
    // http://hl7.org/fhir/R4/valueset-reference-handling-policy.html: `enforced` only when checked.
    referencePolicy: input.referencesEnforced ? ['literal', 'enforced', 'local'] : ['literal', 'local'],
    ...(search && search.searchInclude.length > 0 ? { searchInclude: search.searchInclude } : {}),
    ...(search && search.searchRevInclude.length > 0 ? { searchRevInclude: search.searchRevInclude } : {}),
    ...(search && search.searchParam.length > 0 ? { searchParam: search.searchParam } : {}),
    ...(operations.length > 0 ? { operation: operations.map(operationEntry) } : {}),
  };
}

export function buildCapabilityStatement(input: CapabilityInput): CapabilityStatement {
  const has = (code: InteractionCode): boolean => input.implemented.has(code);
  const systemInteractions: Array<'transaction' | 'batch' | 'search-system' | 'history-system'> = [];
  if (has('batch-transaction')) {
    systemInteractions.push('transaction', 'batch');
  }
  if (has('search-system')) {
    systemInteractions.push('search-system');
  }
  if (has('history-system')) {
    systemInteractions.push('history-system');
  }
  const systemOps = input.operations.system();
  // SMART App Launch 1.0 conformance: the token endpoint where integrators expect it (oauth-uris).
  // Cut the path off as written (not URL.origin, which drops a default port the audience check keeps).
  const base = input.baseUrl.replace(/\/+$/, '');
  const tokenUrl = `${base.slice(0, base.length - new URL(base).pathname.replace(/\/+$/, '').length)}/auth/token`;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: STARTED,
    publisher: 'Schakel',
    kind: 'instance',
    software: { name: 'Schakel', version: VERSION },
    implementation: {
      description: 'Schakel: shared care records for Dutch multidisciplinary care (FHIR R4)',
      url: input.baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json', 'application/json', 'application/fhir+xml', 'xml', 'application/xml'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: {
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          description:
            'SMART Backend Services: client_credentials with a private_key_jwt client assertion, plus a signed user assertion for user context (UZI/BIG/AGB, role, URA/AGB organisation). SMART App Launch for apps in the browser: authorization code with PKCE (S256) for public clients, EHR and standalone launch, refresh token rotation and revocation. Discovery: /.well-known/smart-configuration. Access is narrowed to the care relationship; every request is audited (NEN 7513).',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [
                { url: 'token', valueUri: tokenUrl },
                // SMART App Launch for apps in the browser (http/authorize-routes.ts, http/launch-routes.ts).
                { url: 'authorize', valueUri: tokenUrl.replace(/\/auth\/token$/, '/auth/authorize') },
                { url: 'revoke', valueUri: tokenUrl.replace(/\/auth\/token$/, '/auth/revoke') },
              ],
            },
          ],
        },
        resource: r4ResourceTypes().map((type) => resourceEntry(input, type)),
        interaction: systemInteractions.map((code) => ({ code })),
        ...(systemOps.length > 0 ? { operation: systemOps.map(operationEntry) } : {}),
      },
    ],
  };
}
