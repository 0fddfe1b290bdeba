/** Timestamps come back as Date from node-postgres and PGlite; FHIR wants ISO 8601 instants. */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
