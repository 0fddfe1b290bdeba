/**
 * Typed values (FHIRPath results) to index rows, per parameter type, following the "what the
 * parameter matches" tables of https://hl7.org/fhir/R4/search.html (token: #token, string:
 * #string, date: #date, quantity: #quantity, reference: #reference).
 */
import { convertToSearchableStrings, type TypedValue } from '@medplum/core';
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  HumanName,
  Identifier,
  Period,
  Quantity,
  Range,
  Reference,
  Timing,
} from '@medplum/fhirtypes';
import { parseDateRange } from '../fhir/dates.js';
import { decimalTextOf } from '../fhir/decimal-text.js';
import { parseLocalReference } from '../fhir/references.js';
import type { IndexValue } from './index-rows.js';
import { indexedText } from './text.js';

/** Rows of one value, keyed by the index type and the (possibly derived) parameter name. */
export interface Emit {
  (type: 'token' | 'string' | 'date' | 'number' | 'quantity' | 'reference' | 'uri', param: string, values: IndexValue[]): void;
}

function emitString(emit: Emit, param: string, value: string | undefined): void {
  if (value) {
    emit('string', param, [indexedText(value), value]);
  }
}

function emitCoding(emit: Emit, param: string, coding: Coding): void {
  if (coding.code !== undefined || coding.system !== undefined) {
    emit('token', param, [coding.system ?? null, coding.code ?? null]);
  }
  // :text matches Coding.display and CodeableConcept.text (search.html#token).
  emitString(emit, `${param}:text`, coding.display);
}

export function tokenValues(emit: Emit, param: string, tv: TypedValue): void {
  const value: unknown = tv.value;
  switch (tv.type) {
    case 'Identifier': {
      const identifier = value as Identifier;
      emit('token', param, [identifier.system ?? null, identifier.value ?? null]);
      // :of-type matches `type-system|type-code|value` (search.html#token, identifier).
      for (const coding of identifier.type?.coding ?? []) {
        emit('token', `${param}:of-type`, [`${coding.system ?? ''}|${coding.code ?? ''}`, identifier.value ?? null]);
      }
      emitString(emit, `${param}:text`, identifier.type?.text);
      return;
    }
    case 'CodeableConcept': {
      const concept = value as CodeableConcept;
      for (const coding of concept.coding ?? []) {
        emitCoding(emit, param, coding);
      }
      emitString(emit, `${param}:text`, concept.text);
      if (!concept.coding?.length) {
        emit('token', param, [null, null]);
      }
      return;
    }
    case 'Coding':
      emitCoding(emit, param, value as Coding);
      return;
    case 'ContactPoint': {
      const contact = value as ContactPoint;
      emit('token', param, [contact.system ?? null, contact.value ?? null]);
      return;
    }
    default:
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        emit('token', param, [null, String(value)]);
      } else {
        emit('token', param, [null, null]);
      }
  }
}

export function stringValues(emit: Emit, param: string, tv: TypedValue): void {
  const before: string[] = [];
  if (tv.type === 'HumanName') {
    const name = tv.value as HumanName;
    // Any part of the name matches (search.html#string); the whole name lets "piet bak" match too.
    before.push(...(name.given ?? []), ...(name.prefix ?? []), ...(name.suffix ?? []));
    if (name.family) {
      before.push(name.family);
    }
    before.push(name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(' '));
  } else if (tv.type === 'Address') {
    const address = tv.value as Address;
    before.push(...(address.line ?? []), address.city ?? '', address.district ?? '', address.state ?? '');
    before.push(address.postalCode ?? '', address.country ?? '', address.text ?? '');
  } else if (typeof tv.value === 'string') {
    before.push(tv.value);
  } else {
    before.push(...convertToSearchableStrings([tv]));
  }
  const distinct = [...new Set(before.filter((s) => s !== ''))];
  for (const s of distinct) {
    emitString(emit, param, s);
  }
  if (distinct.length === 0) {
    emit('string', param, [null, null]);
  }
}

function range(value: string | undefined, side: 'start' | 'end'): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  const parsed = parseDateRange(value);
  return parsed ? parsed[side].toISOString() : undefined;
}

export function dateValues(emit: Emit, param: string, tv: TypedValue): void {
  const value: unknown = tv.value;
  if (typeof value === 'string') {
    const parsed = parseDateRange(value);
    emit('date', param, parsed ? [parsed.start.toISOString(), parsed.end.toISOString()] : [null, null]);
  } else if (tv.type === 'Period') {
    // An open end is unbounded (search.html#date: "the period is considered to be open").
    const period = value as Period;
    emit('date', param, [range(period.start, 'start') ?? '-infinity', range(period.end, 'end') ?? 'infinity']);
  } else if (tv.type === 'Timing') {
    const timing = value as Timing;
    for (const event of timing.event ?? []) {
      const parsed = parseDateRange(event);
      if (parsed) {
        emit('date', param, [parsed.start.toISOString(), parsed.end.toISOString()]);
      }
    }
    const bounds = timing.repeat?.boundsPeriod;
    if (bounds) {
      emit('date', param, [range(bounds.start, 'start') ?? '-infinity', range(bounds.end, 'end') ?? 'infinity']);
    }
    if (!timing.event?.length && !bounds) {
      emit('date', param, [null, null]);
    }
  } else {
    emit('date', param, [null, null]);
  }
}

/**
 * A Quantity's value for the numeric columns: its text as written where it was kept
 * (fhir/decimal-text.ts), so digits a double cannot hold reach the index too.
 */
function asWritten(quantity: { value?: number } | undefined): IndexValue {
  if (quantity?.value === undefined) {
    return null;
  }
  return decimalTextOf(quantity, 'value') ?? quantity.value;
}

export function numberValues(emit: Emit, param: string, tv: TypedValue): void {
  const value: unknown = tv.value;
  if (typeof value === 'number') {
    emit('number', param, [value, value]);
  } else if (tv.type === 'Range') {
    const r = value as Range;
    emit('number', param, [asWritten(r.low), asWritten(r.high)]);
  } else if (typeof value === 'object' && value !== null && typeof (value as Quantity).value === 'number') {
    const n = asWritten(value);
    emit('number', param, [n, n]);
  } else {
    emit('number', param, [null, null]);
  }
}

export function quantityValues(emit: Emit, param: string, tv: TypedValue): void {
  const value: unknown = tv.value;
  if (typeof value === 'number') {
    emit('quantity', param, [value, value, null, null, null]);
  } else if (tv.type === 'Range') {
    const r = value as Range;
    const unit = r.low ?? r.high;
    emit('quantity', param, [asWritten(r.low), asWritten(r.high), unit?.system ?? null, unit?.code ?? null, unit?.unit ?? null]);
  } else if (tv.type === 'Money') {
    const money = value as { value?: number; currency?: string };
    emit('quantity', param, [asWritten(money), asWritten(money), 'urn:iso:std:iso:4217', money.currency ?? null, null]);
  } else if (typeof value === 'object' && value !== null && 'value' in value) {
    const q = value as Quantity;
    emit('quantity', param, [asWritten(q), asWritten(q), q.system ?? null, q.code ?? null, q.unit ?? null]);
  } else {
    emit('quantity', param, [null, null, null, null, null]);
  }
}

function referenceString(emit: Emit, param: string, reference: string, baseUrl: string | undefined): void {
  const local = parseLocalReference(reference, baseUrl);
  if (local) {
    emit('reference', param, [local.resourceType, local.id, local.versionId ?? null, null]);
  } else if (!reference.startsWith('#')) {
    // Canonical references carry their version after `|` (references.html#canonical).
    const bar = reference.lastIndexOf('|');
    const url = bar === -1 ? reference : reference.slice(0, bar);
    emit('reference', param, [null, null, bar === -1 ? null : reference.slice(bar + 1), url]);
  } else {
    emit('reference', param, [null, null, null, null]);
  }
}

export function referenceValues(emit: Emit, param: string, tv: TypedValue, baseUrl: string | undefined): void {
  const value: unknown = tv.value;
  if (typeof value === 'string') {
    referenceString(emit, param, value, baseUrl);
    return;
  }
  const ref = value as Reference & { resourceType?: string; id?: string };
  if (typeof ref.reference === 'string') {
    referenceString(emit, param, ref.reference, baseUrl);
  } else if (ref.resourceType !== undefined && ref.id !== undefined) {
    emit('reference', param, [ref.resourceType, ref.id, null, null]);
  } else {
    emit('reference', param, [null, null, null, null]);
  }
  // :identifier matches Reference.identifier (search.html#reference).
  if (ref.identifier) {
    emit('token', `${param}:identifier`, [ref.identifier.system ?? null, ref.identifier.value ?? null]);
  }
}

export function uriValues(emit: Emit, param: string, tv: TypedValue): void {
  emit('uri', param, [typeof tv.value === 'string' ? tv.value : null]);
}
