/**
 * Canonical URLs Schakel defines for outcome measurement (docs/outcome-questionnaires.md): its extensions, code system
 * and naming systems. The extensions are documented in profiles/README.md; the code system is
 * published as profiles/codesystem-pain-outcomes.json.
 */

const BASE = 'http://schakel.nl/fhir';

/**
 * On a Questionnaire: how a score is computed from a response. Sub-extensions `code` (Coding,
 * the Observation code), `expression` (Expression, text/fhirpath, evaluated on the response),
 * `item` (string, repeating: the linkIds the score needs) and `maxMissing` (integer, how many of
 * them may be unanswered; default 0, beyond it no score is computed).
 */
export const SCORE_EXTENSION = `${BASE}/StructureDefinition/questionnaire-score`;

/** On a score Observation: the Questionnaire (url|version) the score was computed with. */
export const SCORE_QUESTIONNAIRE_EXTENSION = `${BASE}/StructureDefinition/observation-questionnaire`;

/** On a PlanDefinition action: half the width of a measurement moment's due window (Duration). */
export const WINDOW_EXTENSION = `${BASE}/StructureDefinition/measurement-window`;

/**
 * On PlanDefinition.action.relatedAction: the anchor lies this fraction (decimal, 0..1) of the
 * related action's duration after its start (0.5 = halfway through the treatment).
 */
export const OFFSET_FRACTION_EXTENSION = `${BASE}/StructureDefinition/offset-fraction`;

/**
 * On Measure.group: the indicator Schakel computes for the group. Sub-extensions `type` (code),
 * `moment` (Coding, repeating), `fromMoment` / `toMoment` (Coding), `score` (Coding),
 * `scoreImprovement` (code) and `threshold` (decimal); see domain/measures/indicator.ts.
 */
export const INDICATOR_EXTENSION = `${BASE}/StructureDefinition/measure-indicator`;

/** Item codes, total codes and measurement moments of the pain outcome measurement. */
export const PAIN_OUTCOMES_SYSTEM = `${BASE}/CodeSystem/pain-outcomes`;

/** Identifies a score Observation by its response and score code: `{response id}#{code}`. */
export const SCORE_IDENTIFIER_SYSTEM = `${BASE}/NamingSystem/questionnaire-score`;

/**
 * Codes of the persistent pain triage (profiles/codesystem-pain-triage.json): the triage itself,
 * the primary-care-tried items, the decision and its reason, and `triage-request` on a referral
 * that asks for the triage.
 */
export const PAIN_TRIAGE_SYSTEM = `${BASE}/CodeSystem/pain-triage`;

/** WPN levels 1-4 of the VRA treatment framework Persistent pain (profiles/codesystem-wpn-level.json). */
export const WPN_LEVEL_SYSTEM = `${BASE}/CodeSystem/wpn-level`;

/**
 * Identifies an Observation extracted from a response (SDC observationExtract) by its response and
 * item: `{response id}#{item key}`, the key being the linkIds from the root (`/` between levels,
 * `[n]` for a later repetition of a group, `:n` for a later answer).
 */
export const EXTRACT_IDENTIFIER_SYSTEM = `${BASE}/NamingSystem/questionnaire-extract`;

export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const DATA_ABSENT_REASON = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';
