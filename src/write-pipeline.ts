/**
 * The write pipeline: what happens to a create, update, patch or delete, in order, and where each
 * phase lives. The repository runs the hooks and listeners built here (repository/repository.ts
 * write()); the phases before and after it are named here so that the whole path reads in one
 * place.
 *
 *  1. validate        interactions/create.ts, update.ts, patch.ts: JSON Schema, profiles and
 *                     invariants (validation/), before any transaction opens (400/422).
 *  2. references      repository/repository.ts write(): every local reference must exist
 *                     (ENFORCE_REFERENTIAL_INTEGRITY_ON_WRITE); deferred to the end of a transaction
 *                     Bundle, whose entries may refer to each other in any order.
 *  3. guards          the `guards` phase below: who may write what, and what may be written.
 *  4. domain rules    the `domainRules` phase: the care workflows (referral Task states, care
 *                     bridge, logbook), questionnaire scoring, Subscriptions.
 *  5. store           repository: current row, history row.
 *  6. index           the `index` phase: search index and the access-control rows derived from the
 *                     content (care relations, BSN register, consent denials, read grants of closed
 *                     referrals and of notified pull), Binary
 *                     bytes.
 *  7. Provenance      the `provenance` phase: a Provenance for the version just written, through
 *                     the same repository, so it passes phases 2-8 itself.
 *  8. change event    the `changeEvent` phase: the resource_event row, written last in the
 *                     transaction (events/resource-event-writer.ts).
 *  9. audit           interactions/dispatch.ts: the audit row, in the write's transaction.
 * 10. commit          then, off the request path, the event dispatcher hands the change events to
 *                     their consumers (events/dispatcher.ts; subscriptions/).
 */
import { createCareRelationIndexer } from './auth/care-relations.js';
import { createConsentDenialIndexer } from './auth/consent-denials.js';
import { binaryGuard } from './auth/binary-guard.js';
import { createPatientBsnRegister, patientBsnGuard } from './auth/patient-bsn.js';
import { createPullGrantWriter } from './auth/pull-grants.js';
import { createReadGrantWriter } from './auth/read-grants.js';
import { writeGuard } from './auth/write-guard.js';
import { provenanceHook } from './audit/provenance.js';
import type { Config } from './config/config.js';
import { careWorkflowHooks, type CareWorkflowOptions } from './domain/care-workflows.js';
import { imsrTriageRule } from './domain/referral/imsr-triage-rule.js';
import { questionnaireHooks } from './domain/questionnaires/questionnaire-hooks.js';
import type { EventDispatcher } from './events/dispatcher.js';
import { createResourceEventWriter } from './events/resource-event-writer.js';
import { createBinaryContentWriter } from './repository/binary-content.js';
import type { WriteHook, WriteListener } from './repository/types.js';
import type { SearchService } from './search/types.js';
import { definitionGuard } from './seed/definitions.js';
import { subscriptionGuard } from './subscriptions/subscription-guard.js';
import { binarySizeGuard } from './validation/binary-size.js';
import { profileGuard } from './validation/profile-guard.js';
import type { ProfileRegistry } from './validation/profiles.js';

export interface WritePipelineParts {
  readonly config: Config;
  readonly search: SearchService;
  readonly profiles: ProfileRegistry;
  /** The canonical resources installed at start, which writes may not replace. */
  readonly definitions: Parameters<typeof definitionGuard>[0];
  readonly workflows: CareWorkflowOptions;
  readonly events: EventDispatcher;
}

/** The phases the repository runs, in order: hooks before and after the store, listeners in the transaction. */
export function writePipeline(parts: WritePipelineParts): { hooks: WriteHook[]; listeners: WriteListener[] } {
  const { config, search, profiles, definitions, workflows, events } = parts;
  // The guards see a write before the domain rules do.
  const guards: WriteHook[] = [
    profileGuard(profiles),
    definitionGuard(definitions),
    binarySizeGuard(config.binaryMaxBytes),
    writeGuard(),
    binaryGuard(),
    patientBsnGuard(),
  ];
  const domainRules: WriteHook[] = [...careWorkflowHooks(search, workflows), questionnaireHooks(search), subscriptionGuard(search, config.subscriptions)];
  if (config.imsrRequiresTriage) {
    domainRules.push(imsrTriageRule(search));
  }
  // Provenance is the last word: it records the version the rules above let through.
  const provenance: WriteHook[] = [provenanceHook()];
  // Care relations after the search index: they read the index rows of what they reference;
  // read grants after both: they read the patients and Provenance of what the owner wrote.
  const index: WriteListener[] = [
    search.indexer,
    createCareRelationIndexer(),
    createPatientBsnRegister(),
    createConsentDenialIndexer(),
    createReadGrantWriter(),
    createPullGrantWriter(),
    createBinaryContentWriter(),
  ];
  // The change event last: its patients are read from what the care relations wrote.
  const changeEvent: WriteListener[] = [createResourceEventWriter(() => events.wake())];
  return { hooks: [...guards, ...domainRules, ...provenance], listeners: [...index, ...changeEvent] };
}
