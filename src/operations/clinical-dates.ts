/**
 * The clinical date of a resource for Patient/$everything's start and end
 * (https://hl7.org/fhir/R4/patient-operation-everything.html: "care dates, not record currency
 * dates"): per type, the R4 date search parameter that says when the care happened, read from the
 * search index (search_date). Types not listed have no clinical date and are never filtered out.
 */
export const CLINICAL_DATE_PARAMS: Readonly<Record<string, string>> = {
  // The R4 clinical-date parameter `date` (searchparameter-clinical-date).
  AllergyIntolerance: 'date',
  CarePlan: 'date',
  CareTeam: 'date',
  ClinicalImpression: 'date',
  Composition: 'date',
  Consent: 'date',
  DiagnosticReport: 'date',
  Encounter: 'date',
  EpisodeOfCare: 'date',
  FamilyMemberHistory: 'date',
  Flag: 'date',
  Immunization: 'date',
  List: 'date',
  Observation: 'date',
  Procedure: 'date',
  RiskAssessment: 'date',
  SupplyRequest: 'date',
  // Types whose care date has another name.
  Communication: 'sent',
  Condition: 'onset-date',
  DocumentReference: 'date',
  MedicationAdministration: 'effective-time',
  MedicationRequest: 'authoredon',
  MedicationStatement: 'effective',
  QuestionnaireResponse: 'authored',
  ServiceRequest: 'authored',
  Task: 'authored-on',
};
