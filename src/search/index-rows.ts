/**
 * The shape of the search index: one table per indexed parameter type, with its value columns and
 * their SQL types. The extractor fills IndexRows; the indexer writes them with one unnest per table.
 */
import type { IndexedType } from './parameters.js';

export interface IndexTable {
  readonly table: string;
  /** Value columns after (sid, resource_type, param, grp), with the SQL array type unnest needs. */
  readonly columns: ReadonlyArray<readonly [name: string, sqlType: string]>;
}

export const INDEX_TABLES: Readonly<Record<IndexedType, IndexTable>> = {
  token: { table: 'search_token', columns: [['system', 'text'], ['code', 'text']] },
  string: { table: 'search_string', columns: [['norm', 'text'], ['exact', 'text']] },
  date: { table: 'search_date', columns: [['start_at', 'timestamptz'], ['end_at', 'timestamptz']] },
  number: { table: 'search_number', columns: [['low', 'numeric'], ['high', 'numeric']] },
  quantity: {
    table: 'search_quantity',
    columns: [['low', 'numeric'], ['high', 'numeric'], ['system', 'text'], ['code', 'text'], ['unit', 'text']],
  },
  reference: {
    table: 'search_reference',
    columns: [['target_type', 'text'], ['target_id', 'text'], ['target_version', 'text'], ['url', 'text']],
  },
  uri: { table: 'search_uri', columns: [['uri', 'text']] },
};

export const INDEXED_TYPES = Object.keys(INDEX_TABLES) as IndexedType[];

export type IndexValue = string | number | null;

export interface IndexRow {
  readonly param: string;
  readonly grp: number | null;
  /** In the order of INDEX_TABLES[type].columns. */
  readonly values: readonly IndexValue[];
}

export type IndexRows = Record<IndexedType, IndexRow[]>;

export function emptyRows(): IndexRows {
  return { token: [], string: [], date: [], number: [], quantity: [], reference: [], uri: [] };
}

export function rowCount(rows: IndexRows): number {
  return INDEXED_TYPES.reduce((n, type) => n + rows[type].length, 0);
}
