/**
 * Technical corrections to invariants published in the R4 StructureDefinitions. Each entry is an
 * expression that R4 got wrong and that a later release (R4B, 4.3.0) fixed; the HL7 Java validator
 * applies the same corrections, so an R4 server that did not would accept what every other
 * validator refuses. The expressions are taken verbatim from R4B; nothing here is new FHIRPath.
 */
import type { Bundle, BundleEntry, StructureDefinition } from '@medplum/fhirtypes';

interface InvariantCorrection {
  readonly type: string;
  readonly key: string;
  /** The R4 expression, checked so a changed source is noticed instead of silently overwritten. */
  readonly r4: string;
  readonly corrected: string;
}

const CORRECTIONS: readonly InvariantCorrection[] = [
  {
    // https://hl7.org/fhir/R4B/questionnaire.html#invs: "more than one enableWhen" needs count() > 1.
    type: 'Questionnaire',
    key: 'que-12',
    r4: 'enableWhen.count() > 2 implies enableBehavior.exists()',
    corrected: 'enableWhen.count() > 1 implies enableBehavior.exists()',
  },
];

function correct(sd: StructureDefinition): StructureDefinition {
  const mine = CORRECTIONS.filter((c) => c.type === sd.id);
  if (mine.length === 0) {
    return sd;
  }
  const copy = structuredClone(sd);
  for (const element of [...(copy.snapshot?.element ?? []), ...(copy.differential?.element ?? [])]) {
    for (const constraint of element.constraint ?? []) {
      const fix = mine.find((c) => c.key === constraint.key && c.r4 === constraint.expression);
      if (fix) {
        constraint.expression = fix.corrected;
      }
    }
  }
  return copy;
}

/** The bundle with the corrected StructureDefinitions in place of the published ones. */
export function withR4Corrections(bundle: Bundle): Bundle {
  return {
    ...bundle,
    entry: (bundle.entry ?? []).map((entry: BundleEntry) =>
      entry.resource?.resourceType === 'StructureDefinition' ? { ...entry, resource: correct(entry.resource) } : entry
    ),
  };
}
