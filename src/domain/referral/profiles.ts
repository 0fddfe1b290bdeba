/** Canonical URLs of the referral profiles in profiles/ (referral.json, referral-task.json, feedback.json). */
const BASE = 'http://schakel.nl/fhir/StructureDefinition/';

export const REFERRAL_PROFILE = `${BASE}referral`;
export const REFERRAL_TASK_PROFILE = `${BASE}referral-task`;
export const FEEDBACK_PROFILE = `${BASE}feedback`;
export const WPN_LEVEL_EXTENSION = `${BASE}wpn-level`;

export const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';
