/**
 * A function of a string made once per key: metric handles made once per tag value (actors/taggedMetric.ts). Keys must
 * be few (tag values: entity types, messages, commands, priorities, steps, routes, statuses).
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
