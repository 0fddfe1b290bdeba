// FHIR XML as a pure function (src/fhir/xml): the official R4 examples survive JSON -> XML -> JSON,
// the JSON rules for primitives (_name siblings, null-aligned arrays) and choice types map onto
// XML as https://hl7.org/fhir/R4/xml.html describes, and what FHIR XML forbids is refused with a 400.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isOperationOutcomeError } from '../../../src/fhir/outcomes.js';
import { parseFhirXml } from '../../../src/fhir/xml/parse.js';
import { serialiseFhirXml } from '../../../src/fhir/xml/serialise.js';
import { CORPUS_DIR, corpusMissing } from '../../conformance/corpus.js';

const OPTIONS = { maxDepth: 64 };
const FHIR = 'xmlns="http://hl7.org/fhir"';

/** The 400's issues as [code, first expression], or a failure marker when parsing succeeded. */
function refusal(xml: string): Array<[string, string | undefined]> | 'parsed' {
  try {
    parseFhirXml(xml, OPTIONS);
    return 'parsed';
  } catch (error) {
    if (!isOperationOutcomeError(error) || error.outcome.id !== 'bad-request') {
      throw error;
    }
    return (error.outcome.issue ?? []).map((i): [string, string | undefined] => [i.code, i.expression?.[0]]);
  }
}

const missing = corpusMissing('r4-examples');
if (missing) {
  t.pass('corpus absent', { skip: missing });
} else {
  t.test('every official R4 example round-trips JSON -> XML -> JSON unchanged', async (t) => {
    const base = join(CORPUS_DIR, 'r4-examples');
    const files = readdirSync(base).filter((f) => f.endsWith('.json')).sort();
    for (const file of files) {
      const json: unknown = JSON.parse(readFileSync(join(base, file), 'utf8'));
      const xml = serialiseFhirXml(json);
      const pretty = serialiseFhirXml(json, { pretty: true });
      const back = parseFhirXml(xml, OPTIONS);
      t.ok(
        JSON.stringify(back) === JSON.stringify(parseFhirXml(pretty, OPTIONS)) && t.same(back, json, `${file}`) && serialiseFhirXml(back) === xml,
        `${file}: compact and pretty XML read back alike and write the same XML again`
      );
    }
    t.ok(files.length >= 72, `${files.length} examples`);
  });
}

t.test("the project's own profiles and fixtures round-trip too", async (t) => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  for (const folder of ['profiles', 'fixtures']) {
    for (const file of readdirSync(join(root, folder)).filter((f) => f.endsWith('.json')).sort()) {
      const json: unknown = JSON.parse(readFileSync(join(root, folder, file), 'utf8'));
      t.same(parseFhirXml(serialiseFhirXml(json), OPTIONS), json, `${folder}/${file}`);
    }
  }
});

t.test('primitives: value attributes, id and extensions from the _name sibling, null-aligned arrays', async (t) => {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    active: true,
    name: [
      {
        id: 'n1',
        given: ['Jan', null, 'Piet'],
        _given: [null, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-nullFlavor', valueCode: 'UNK' }] }, { id: 'g3' }],
      },
    ],
    birthDate: '1950-01-01',
    _birthDate: { id: 'bd', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1950-01-01T08:00:00+01:00' }] },
    multipleBirthInteger: 2,
  };
  const xml = serialiseFhirXml(patient);
  t.match(xml, /^<Patient xmlns="http:\/\/hl7.org\/fhir"><id value="p1"\/><active value="true"\/><name id="n1"><given value="Jan"\/><given><extension url="http:\/\/hl7.org\/fhir\/StructureDefinition\/iso21090-nullFlavor"><valueCode value="UNK"\/><\/extension><\/given><given id="g3" value="Piet"\/><\/name>/);
  t.match(xml, /<birthDate id="bd" value="1950-01-01"><extension url="[^"]+"><valueDateTime value="1950-01-01T08:00:00\+01:00"\/><\/extension><\/birthDate><multipleBirthInteger value="2"\/><\/Patient>$/);
  t.same(parseFhirXml(xml, OPTIONS), patient);
});

t.test('elements are written in StructureDefinition order whatever the JSON key order', async (t) => {
  const xml = serialiseFhirXml({ gender: 'female', name: [{ given: ['A'], family: 'B' }], id: 'x', resourceType: 'Patient', meta: { versionId: '1' } });
  t.equal(xml, `<Patient ${FHIR}><id value="x"/><meta><versionId value="1"/></meta><name><family value="B"/><given value="A"/></name><gender value="female"/></Patient>`);
});

t.test('decimals: the lexical form is read as the JSON reader reads it, and written back as it was written', async (t) => {
  const read = parseFhirXml(`<Observation ${FHIR}><status value="final"/><code><text value="x"/></code><valueQuantity><value value="1.50"/></valueQuantity></Observation>`, OPTIONS);
  t.equal((read['valueQuantity'] as { value?: unknown }).value, 1.5, 'a JS number, as the JSON reader gives');
  t.match(serialiseFhirXml(read), '<valueQuantity><value value="1.50"/></valueQuantity>', 'its precision kept (datatypes.html#decimal)');
  t.match(serialiseFhirXml({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 0.0000001 } }), '<value value="1e-7"/>');
  t.same(refusal(`<Observation ${FHIR}><valueQuantity><value value="1,5"/></valueQuantity></Observation>`), [['value', 'Observation.valueQuantity.value']]);
});

t.test('contained resources and Bundle entries are wrapped in an element named for their type', async (t) => {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:5b7f2c1e-8a3d-4c9e-b0a1-2f6d3e4c5b6a',
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, contained: [{ resourceType: 'Patient', id: 'c1' }], subject: { reference: '#c1' } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
  const answer = {
    resourceType: 'Bundle',
    type: 'batch-response',
    entry: [{ response: { status: '404 Not Found', outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] } } }],
  };
  const answerXml = serialiseFhirXml(answer);
  t.match(answerXml, '<response><status value="404 Not Found"/><outcome><OperationOutcome><issue>', 'an entry outcome is a resource too');
  t.same(parseFhirXml(answerXml, OPTIONS), answer);
  const xml = serialiseFhirXml(bundle);
  t.match(xml, '<entry><fullUrl value="urn:uuid:5b7f2c1e-8a3d-4c9e-b0a1-2f6d3e4c5b6a"/><resource><Observation><contained><Patient><id value="c1"/></Patient></contained>');
  t.same(parseFhirXml(xml, OPTIONS), bundle);
});

t.test('narrative: the div is XHTML kept as written; attribute values keep their whitespace and markup', async (t) => {
  const div = '<div xmlns="http://www.w3.org/1999/xhtml"><p class="a">Jan &amp; Piet &lt;3 <b>😀</b><br/></p></div>';
  const resource = { resourceType: 'Basic', code: { text: 'regel 1\nregel 2\t"quote" & <tag> é' }, text: { status: 'generated', div } };
  const xml = serialiseFhirXml(resource);
  t.match(xml, `<text><status value="generated"/>${div}</text>`);
  t.match(xml, '<text value="regel 1&#10;regel 2&#9;&quot;quote&quot; &amp; &lt;tag&gt; é"/>');
  t.same(parseFhirXml(xml, OPTIONS), resource);
  const prefixed = parseFhirXml(`<Basic ${FHIR}><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">a</div></text><code><text value="c"/></code></Basic>`, OPTIONS);
  t.same(prefixed['text'], { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">a</div>' });
  t.same(refusal(`<Basic ${FHIR}><text><status value="generated"/><div>a</div></text></Basic>`), [['structure', 'Basic.text.div']], 'a div in the FHIR namespace');
});

t.test('a DOCTYPE is refused: no external entities (XXE), no entity expansion', async (t) => {
  const xxe = `<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient ${FHIR}><id value="&x;"/></Patient>`;
  t.same(refusal(xxe), [['structure', undefined]]);
  const bomb = `<!DOCTYPE Patient [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Patient ${FHIR}><id value="&b;"/></Patient>`;
  t.same(refusal(bomb), [['structure', undefined]]);
  t.same(refusal(`<Patient ${FHIR}><id value="&x;"/></Patient>`), [['structure', undefined]], 'an undeclared entity');
});

t.test('breaches of FHIR XML are refused with their paths', async (t) => {
  t.same(refusal('<Patient'), [['structure', undefined]], 'not well-formed');
  t.same(refusal('<Patient><id value="x"/></Patient>'), [['structure', 'Patient']], 'no namespace');
  t.same(refusal('<Patient xmlns="http://hl7.org/fhir/other"/>'), [['structure', 'Patient']], 'wrong namespace');
  t.same(refusal(`<Patiënt ${FHIR}/>`), [['structure', 'Patiënt']], 'not a resource type');
  t.same(refusal(`<Patient ${FHIR}><nickname value="x"/></Patient>`), [['structure', 'Patient.nickname']], 'unknown element');
  t.same(refusal(`<Patient ${FHIR}><gender value="male" code="m"/></Patient>`), [['structure', 'Patient.gender']], 'unknown attribute');
  t.same(refusal(`<Patient ${FHIR}><gender value="male"/><gender value="female"/></Patient>`), [['structure', 'Patient.gender']], 'single element twice');
  t.same(refusal(`<Patient ${FHIR}><deceasedBoolean value="true"/><deceasedDateTime value="2020"/></Patient>`), [['structure', 'Patient.deceasedDateTime']], 'two choices');
  t.same(refusal(`<Patient ${FHIR}><active value="yes"/></Patient>`), [['value', 'Patient.active']], 'not a boolean');
  t.same(refusal(`<Patient ${FHIR}><multipleBirthInteger value="1.0"/></Patient>`), [['value', 'Patient.multipleBirthInteger']], 'not an integer');
  t.same(refusal(`<Patient ${FHIR}><gender value=""/></Patient>`), [['value', 'Patient.gender']], 'empty value');
  t.same(refusal(`<Patient ${FHIR}><gender/></Patient>`), [['structure', 'Patient.gender']], 'no value, no extension');
  t.same(refusal(`<Patient ${FHIR}><name/></Patient>`), [['structure', 'Patient.name']], 'empty complex element');
  t.same(refusal(`<Patient ${FHIR}><gender>male</gender></Patient>`), [['structure', 'Patient.gender']], 'text instead of a value attribute');
  t.same(refusal(`<Patient ${FHIR} xmlns:x="urn:x"><x:gender value="male"/></Patient>`), [['structure', 'Patient.gender']], 'foreign namespace');
  t.same(refusal(`<Patient ${FHIR}><contained><Patient/><Patient/></contained></Patient>`), [['structure', 'Patient.contained']], 'two resources in one wrapper');
  const deep = `<Questionnaire ${FHIR}>${'<item><linkId value="a"/><type value="group"/>'.repeat(70)}${'</item>'.repeat(70)}</Questionnaire>`;
  t.same(refusal(deep), [['structure', undefined]], 'nesting beyond the limit');
  t.same(
    refusal(`<Patient ${FHIR} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://hl7.org/fhir ../../schema/fhir-all.xsd"><id value="x"/></Patient>`),
    'parsed',
    'schema hints are allowed'
  );
});

t.test('what R4 does not define has no XML form', async (t) => {
  t.throws(() => serialiseFhirXml({ resourceType: 'Patient', nickname: 'x' }), { name: 'XmlSerialiseError' });
  t.throws(() => serialiseFhirXml({ resourceType: 'NotAType' }), { name: 'XmlSerialiseError' });
  t.throws(() => serialiseFhirXml({ resourceType: 'Patient', gender: { code: 'male' } }), { name: 'XmlSerialiseError' }, 'an object where a primitive belongs');
});
