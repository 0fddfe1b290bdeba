// Response format negotiation as a pure function (src/http/negotiation.ts): _format wins, then
// Accept by quality (RFC 9110 section 12.5.1), FHIR JSON when anything goes, 406 when nothing fits.
import t from 'tap';
import { isOperationOutcomeError } from '../../src/fhir/outcomes.js';
import { replyFormat, responseMediaType } from '../../src/http/negotiation.js';

function refused(format: string | undefined, accept: string | undefined): boolean {
  try {
    responseMediaType(format, accept);
    return false;
  } catch (error) {
    return isOperationOutcomeError(error) && error.outcome.id === 'not-acceptable';
  }
}

t.test('_format and Accept choose between FHIR JSON and FHIR XML', async (t) => {
  t.equal(responseMediaType('xml', 'application/fhir+json'), 'application/fhir+xml', '_format wins over Accept');
  t.equal(responseMediaType('application/fhir+xml', undefined), 'application/fhir+xml');
  t.equal(responseMediaType('json', undefined), 'application/fhir+json');
  t.equal(responseMediaType(undefined, 'application/fhir+xml; fhirVersion=4.0'), 'application/fhir+xml');
  t.equal(responseMediaType(undefined, 'application/xml'), 'application/xml');
  t.equal(responseMediaType(undefined, 'text/html, application/xml+fhir'), 'application/fhir+xml', 'the DSTU2 name');
  t.equal(responseMediaType(undefined, '*/*'), 'application/fhir+json');
  t.equal(responseMediaType(undefined, undefined), 'application/fhir+json');
});

t.test('Accept quality values are honoured', async (t) => {
  t.equal(responseMediaType(undefined, 'application/fhir+json;q=0.5, application/fhir+xml'), 'application/fhir+xml');
  t.equal(responseMediaType(undefined, 'application/fhir+xml;q=0.9, application/fhir+json;q=0.9'), 'application/fhir+xml', 'the client order among equals');
  t.equal(responseMediaType(undefined, 'application/fhir+json;q=0, application/fhir+xml;q=0.1'), 'application/fhir+xml', 'q=0 refuses a type');
  t.ok(refused(undefined, 'application/fhir+xml;q=0'), 'nothing acceptable left');
});

t.test('other formats answer 406', async (t) => {
  t.ok(refused('turtle', undefined));
  t.ok(refused(undefined, 'text/turtle'));
  t.ok(refused(undefined, 'xml'), 'a _format shorthand is not a media type');
});

t.test('replyFormat reads _format and _pretty from the URL', async (t) => {
  t.same(replyFormat('/fhir/Patient?_format=xml&_pretty=true', undefined), { mediaType: 'application/fhir+xml', pretty: true });
  t.same(replyFormat('/fhir/Patient', 'application/fhir+xml'), { mediaType: 'application/fhir+xml', pretty: false });
});
