/**
 * The access rules that belong to one resource type, as the CapabilityStatement states them
 * (CapabilityStatement.rest.resource.documentation, interactions/capabilities.ts): the text says
 * what consent-denials.ts, access-scope.ts and demo-clients.ts enforce, nothing more.
 */
const DOCUMENTATION: Readonly<Record<string, string>> = {
  Consent:
    'Objection to sharing is enforced: an active Consent with scope patient-privacy ' +
    '(http://terminology.hl7.org/CodeSystem/consentscope) for a Patient, whose provision (base or nested) has type ' +
    'deny, hides that patient from the actors it names in provision.actor (Organization, Practitioner; a ' +
    'PractitionerRole stands for its practitioner) within provision.period: read, vread and history answer 404, ' +
    'searches, _include, _revinclude and Patient/$everything leave the record out, exactly as without a care ' +
    'relationship. A deny provision without actors objects to everyone except the organisation that recorded it ' +
    '(Consent.organization), the actors of permit provisions nested in it, and the patient\'s own managing ' +
    'organisation and general practitioner. Other actor kinds (CareTeam, Group, identifier-only references) are ' +
    'refused with 422. A Consent that is no longer active, or deleted, lifts the objection. Emergency access ' +
    '(break-the-glass, with a reason) overrides it and is audited. The professionals in a care relationship with ' +
    'the patient (the GP practice) create and update the Consent.',
  Measure:
    'Indicators: Measure/$evaluate-measure answers a summary MeasureReport (counts and scores per organisation, no ' +
    'subject, no evaluatedResource, no subject lists). An individual report (subject=Patient/{id}) needs read ' +
    'access to that patient. A regional network client holds system/Measure.r only: it reads Measures and runs ' +
    '$evaluate-measure for aggregate figures, and sees no individual record and writes nothing (403).',
};

export function accessDocumentation(resourceType: string): string | undefined {
  return DOCUMENTATION[resourceType];
}
