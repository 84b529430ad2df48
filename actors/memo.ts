/**
 * A function of a string made once per key: metric handles tagged once per tag value (tagging builds, formats and
 * hashes a new metric key each time, a cost otherwise paid on every message or transition). Keys must be few (tag
 * values: entity types, messages, commands, priorities, steps).
 */
export const memo = <A>(make: (key: string) => A) => {
  const cache = new Map<string, A>()
  return (key: string): A => {
    let value = cache.get(key)
    if (value === undefined) {
      value = make(key)
      cache.set(key, value)
    }
    return value
  }
}
