/** Canonical URLs of the referral profiles in profiles/ (referral.json, referral-task.json, feedback.json). */
const BASE = 'http://schakel.nl/fhir/StructureDefinition/';

export const REFERRAL_PROFILE = `${BASE}referral`;
export const REFERRAL_TASK_PROFILE = `${BASE}referral-task`;
export const FEEDBACK_PROFILE = `${BASE}feedback`;
export const WPN_LEVEL_EXTENSION = `${BASE}wpn-level`;

export const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';

/** The rehabilitation physician's triage for persistent pain (profiles/pain-triage.json). */
export const PAIN_TRIAGE_PROFILE = `${BASE}pain-triage`;
/** On a Pain Triage: the decision deviates from the team's advice, with its reason (profiles/triage-deviation.json). */
export const TRIAGE_DEVIATION_EXTENSION = `${BASE}triage-deviation`;
