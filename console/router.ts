/** Hash routes (`#/logboek/zorgbrug-de-graaf?category=vital-signs`): one HTML page, no server routes. */
export interface Route {
  readonly page: string;
  readonly id: string | undefined;
  readonly query: URLSearchParams;
}

export function currentRoute(hash = location.hash): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = '', id] = path.split('/');
  return { page: page === '' ? 'verwijzingen' : page, id: id === undefined || id === '' ? undefined : decodeURIComponent(id), query: new URLSearchParams(query) };
}

export function href(page: string, id?: string, query?: Record<string, string>): string {
  const search = query === undefined ? '' : new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString();
  return `#/${page}${id === undefined ? '' : `/${encodeURIComponent(id)}`}${search === '' ? '' : `?${search}`}`;
}

export function navigate(page: string, id?: string, query?: Record<string, string>): void {
  location.hash = href(page, id, query);
}
