-- The string index holds a bounded prefix of each normalised value (search/text.ts, indexedText):
-- PostgreSQL refuses btree entries over about 2.7 KB, and FHIR strings may be far longer.
UPDATE search_string SET norm = left(norm, 512) WHERE length(norm) > 512;
