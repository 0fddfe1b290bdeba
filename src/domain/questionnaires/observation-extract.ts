/**
 * SDC observation-based extraction (https://hl7.org/fhir/uv/sdc/extraction.html#observation-based-extraction):
 * every answer to a question that has a `code` and is marked with `sdc-questionnaire-observationExtract`
 * (on the question, or inherited from an enclosing group or the Questionnaire root; `false` turns
 * it off below) becomes one Observation:
 *   code            the question's codes
 *   value[x]        the answer (integer, decimal as a Quantity with the item's questionnaire-unit,
 *                   Quantity, boolean, string, Coding as a CodeableConcept, date/dateTime, time)
 *   subject, encounter   the response's
 *   effectiveDateTime    the response's `authored`
 *   performer            the response's author (when Observation.performer allows its type)
 *   derivedFrom          the response
 *   basedOn              the response's basedOn (CarePlan, ServiceRequest)
 *   partOf               the response's partOf where Observation.partOf allows it (Procedure)
 *   category             the `sdc-questionnaire-observation-extract-category` codes, when given
 * Relationships between Observations (`component`, `member` codes in SDC STU4) are not built:
 * each marked question gives independent Observations.
 *
 * Each Observation carries the identifier `{response id}#{item key}` (EXTRACT_IDENTIFIER_SYSTEM),
 * so a later version of the response updates it instead of adding another (extracted-observations.ts).
 * A question whose code is one of the Questionnaire's scores (score-definitions.ts) is not extracted
 * again: the score Observation is the Observation of that code.
 */
import type {
  CodeableConcept,
  Coding,
  Extension,
  Observation,
  Quantity,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
  Reference,
} from '@medplum/fhirtypes';
import { EXTRACT_IDENTIFIER_SYSTEM, SCORE_QUESTIONNAIRE_EXTENSION } from '../canonical-urls.js';
import { scoreDefinitions } from './score-definitions.js';

const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';
export const OBSERVATION_EXTRACT = `${SDC}/sdc-questionnaire-observationExtract`;
const EXTRACT_CATEGORY = `${SDC}/sdc-questionnaire-observation-extract-category`;
const QUESTIONNAIRE_UNIT = 'http://hl7.org/fhir/StructureDefinition/questionnaire-unit';

/** Observation.performer allows these of QuestionnaireResponse.author's types (not Device). */
const PERFORMER_TYPES = /^(Practitioner|PractitionerRole|Organization|Patient|RelatedPerson)\//;
/** R4 Observation.basedOn targets among QuestionnaireResponse.basedOn's (CarePlan, ServiceRequest). */
const BASED_ON_TYPES = /^(CarePlan|ServiceRequest)\//;
/** R4 Observation.partOf targets among QuestionnaireResponse.partOf's (Observation, Procedure). */
const PART_OF_TYPES = /^Procedure\//;

export interface ExtractedObservation {
  /** The identifier value `{response id}#{item key}`. */
  readonly key: string;
  readonly observation: Observation;
}

interface Marking {
  readonly extract: boolean;
  readonly category: CodeableConcept[];
}

function marking(element: { extension?: Extension[] }, outer: Marking): Marking {
  const flag = element.extension?.find((e) => e.url === OBSERVATION_EXTRACT);
  // A code (SDC STU4: component, member...) asks for extraction too; a boolean says yes or no.
  const extract = flag === undefined ? outer.extract : flag.valueBoolean ?? flag.valueCode !== undefined;
  const categories = (element.extension ?? []).filter((e) => e.url === EXTRACT_CATEGORY).flatMap((e) => (e.valueCodeableConcept ? [e.valueCodeableConcept] : []));
  return { extract, category: categories.length > 0 ? categories : outer.category };
}

function unitOf(definition: QuestionnaireItem): Pick<Quantity, 'unit' | 'system' | 'code'> {
  const unit: Coding | undefined = definition.extension?.find((e) => e.url === QUESTIONNAIRE_UNIT)?.valueCoding;
  if (!unit) {
    return {};
  }
  return { ...(unit.display ?? unit.code ? { unit: unit.display ?? unit.code } : {}), ...(unit.system ? { system: unit.system } : {}), ...(unit.code ? { code: unit.code } : {}) };
}

type ObservationValue = Pick<
  Observation,
  'valueQuantity' | 'valueInteger' | 'valueBoolean' | 'valueString' | 'valueCodeableConcept' | 'valueDateTime' | 'valueTime'
>;

/** The Observation value of an answer; undefined for answers R4 Observation cannot hold (Attachment, Reference, uri). */
function valueOf(definition: QuestionnaireItem, answer: QuestionnaireResponseItemAnswer): ObservationValue | undefined {
  if (answer.valueInteger !== undefined) {
    return { valueInteger: answer.valueInteger };
  }
  if (answer.valueDecimal !== undefined) {
    return { valueQuantity: { value: answer.valueDecimal, ...unitOf(definition) } };
  }
  if (answer.valueQuantity !== undefined) {
    return { valueQuantity: answer.valueQuantity };
  }
  if (answer.valueBoolean !== undefined) {
    return { valueBoolean: answer.valueBoolean };
  }
  if (answer.valueString !== undefined) {
    return { valueString: answer.valueString };
  }
  if (answer.valueCoding !== undefined) {
    return { valueCodeableConcept: { coding: [answer.valueCoding], ...(answer.valueCoding.display ? { text: answer.valueCoding.display } : {}) } };
  }
  if (answer.valueDate !== undefined || answer.valueDateTime !== undefined) {
    return { valueDateTime: answer.valueDateTime ?? answer.valueDate };
  }
  if (answer.valueTime !== undefined) {
    return { valueTime: answer.valueTime };
  }
  return undefined;
}

function references(list: readonly Reference[] | undefined, allowed: RegExp): Reference[] {
  return (list ?? []).filter((r) => r.reference !== undefined && allowed.test(r.reference));
}

function sameCode(a: Coding, b: Coding): boolean {
  return a.system === b.system && a.code === b.code;
}

/**
 * The Observations a response's answers give (status `final`; the caller sets it for updates).
 * `canonical` is the Questionnaire's url|version, kept on each Observation as the score ones do.
 */
export function extractObservations(
  response: QuestionnaireResponse,
  questionnaire: Questionnaire,
  canonical: string,
  issued: string
): ExtractedObservation[] {
  const scoreCodes = scoreDefinitions(questionnaire).map((d) => d.code);
  const author = response.author;
  const basedOn = references(response.basedOn, BASED_ON_TYPES);
  const partOf = references(response.partOf, PART_OF_TYPES);
  const common: Omit<Observation, 'code'> = {
    resourceType: 'Observation',
    extension: [{ url: SCORE_QUESTIONNAIRE_EXTENSION, valueCanonical: canonical }],
    status: 'final',
    ...(basedOn.length > 0 ? { basedOn: basedOn as Observation['basedOn'] } : {}),
    ...(partOf.length > 0 ? { partOf: partOf as Observation['partOf'] } : {}),
    ...(response.subject ? { subject: response.subject as Observation['subject'] } : {}),
    ...(response.encounter ? { encounter: response.encounter } : {}),
    ...(response.authored ? { effectiveDateTime: response.authored } : {}),
    issued,
    ...(author?.reference && PERFORMER_TYPES.test(author.reference) ? { performer: [author as NonNullable<Observation['performer']>[number]] } : {}),
    ...(response.id ? { derivedFrom: [{ reference: `QuestionnaireResponse/${response.id}` }] } : {}),
  };
  const found: ExtractedObservation[] = [];

  const question = (definition: QuestionnaireItem, item: QuestionnaireResponseItem, key: string, mark: Marking): void => {
    const codes = definition.code ?? [];
    const isScore = codes.some((c) => scoreCodes.some((s) => sameCode(c, s)));
    if (!mark.extract || codes.length === 0 || isScore) {
      return;
    }
    (item.answer ?? []).forEach((answer, j) => {
      const value = valueOf(definition, answer);
      if (!value) {
        return;
      }
      const id = `${response.id ?? ''}#${j === 0 ? key : `${key}:${j}`}`;
      found.push({
        key: id,
        observation: {
          ...common,
          identifier: [{ system: EXTRACT_IDENTIFIER_SYSTEM, value: id }],
          ...(mark.category.length > 0 ? { category: mark.category } : {}),
          code: { coding: codes, ...(definition.text ? { text: definition.text } : {}) },
          ...value,
        },
      });
    });
  };

  const level = (definitions: readonly QuestionnaireItem[], items: readonly QuestionnaireResponseItem[], prefix: string, outer: Marking): void => {
    for (const definition of definitions) {
      const mark = marking(definition, outer);
      items
        .filter((i) => i.linkId === definition.linkId)
        .forEach((item, occurrence) => {
          const key = `${prefix}${definition.linkId}${occurrence > 0 ? `[${occurrence}]` : ''}`;
          if (definition.type === 'group') {
            level(definition.item ?? [], item.item ?? [], `${key}/`, mark);
            return;
          }
          question(definition, item, key, mark);
          (item.answer ?? []).forEach((answer, j) => level(definition.item ?? [], answer.item ?? [], `${key}.${j}/`, mark));
        });
    }
  };

  level(questionnaire.item ?? [], response.item ?? [], '', marking(questionnaire, { extract: false, category: [] }));
  return found;
}
