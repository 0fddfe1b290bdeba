/**
 * The value kept in `map` under `key`, made by `make` the first time it is asked for. The matcher
 * and the catalog keep promises this way, so that work asked for twice in one pass (the same
 * owner, access scope or search for several Subscriptions) is started once.
 */
export function keptOrMade<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
