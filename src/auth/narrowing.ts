/**
 * The views of repository and search that an interaction runs with: both narrowed to what the
 * principal may see (auth/access-scope.ts), so handlers and operations, including those added
 * later, get the narrowing without asking for it, and every write carries its actor to the write
 * hooks (auth's write guard, audit's Provenance).
 */
import type { AccessScope } from './access-scope.js';
import type { AccessFilter, SearchService } from '../search/types.js';
import type { Repository } from '../repository/repository.js';

const bases = new WeakMap<SearchService, SearchService>();

function both(a: AccessFilter | undefined, b: AccessFilter): AccessFilter {
  if (a === undefined) {
    return b;
  }
  return (resource) => {
    const list = [a(resource), b(resource)].filter((c): c is string => c !== undefined);
    return list.length === 0 ? undefined : list.map((c) => `(${c})`).join(' AND ');
  };
}

function narrowSearch(service: SearchService, filter: AccessFilter): SearchService {
  const base = bases.get(service) ?? service;
  const view: SearchService = {
    indexer: base.indexer,
    capabilities: (type) => base.capabilities(type),
    search: (db, input) => base.search(db, { ...input, access: both(input.access, filter) }),
    findIds: (db, type, criteria, limit, access) => base.findIds(db, type, criteria, limit, both(access, filter)),
  };
  bases.set(view, base);
  return view;
}

/** The parts of an interaction's context (interactions/context.ts) that narrowing replaces. */
interface NarrowableContext {
  readonly repo: Repository;
  readonly search: SearchService;
  readonly access?: AccessScope;
}

/** The context an interaction runs with for `access`. */
export function narrowed<C extends NarrowableContext>(ctx: C, access: AccessScope): C {
  return {
    ...ctx,
    access,
    repo: ctx.repo.scoped({ actor: access, access: access.filter, writeAccess: access.writeFilter }),
    search: narrowSearch(ctx.search, access.filter),
  };
}
