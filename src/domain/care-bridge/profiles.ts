/** Codes and canonical URLs of the care-plan profiles in profiles/ (shared-careplan.json, care-bridge-careplan.json). */
const BASE = 'http://schakel.nl/fhir/StructureDefinition/';

export const SHARED_CAREPLAN_PROFILE = `${BASE}shared-careplan`;
export const CARE_BRIDGE_PROFILE = `${BASE}care-bridge-careplan`;
export const DISCHARGE_DATE_EXTENSION = `${BASE}discharge-date`;

export const CARE_BRIDGE_CATEGORY = { system: 'http://schakel.nl/fhir/CodeSystem/care-programme', code: 'cardiac-care-bridge' } as const;

export const SNOMED = 'http://snomed.info/sct';
/** SNOMED CT 91251008 |Physical therapy procedure|: a physiotherapy session. */
export const PHYSIOTHERAPY = '91251008';
/** SNOMED CT 439708006 |Home visit|: a district nurse's home visit. */
export const HOME_VISIT = '439708006';

/** Flags that $progress and the visit warnings use (details.coding.code). */
export const PROGRESS_FLAGS = 'http://schakel.nl/fhir/CodeSystem/care-plan-progress';
