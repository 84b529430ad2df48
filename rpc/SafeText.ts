/** Free text that PostgreSQL can store: every string field of a command, a sample or a submission is built on it. */
import { Schema } from "effect"

/** What a refused string is told, so a 422 names the field and the reason. */
export const UNSAFE_TEXT_MESSAGE = "must not contain NUL, control characters or unpaired surrogates"

/**
 * True when `s` holds no NUL, no other C0 control character except tab, line feed and carriage return, and no
 * unpaired UTF-16 surrogate (PostgreSQL refuses the first in text and jsonb, and the last cannot be encoded as UTF-8).
 */
export const isSafeText = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return false
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false
    }
  }
  return true
}

/** A string without NUL, C0 controls (other than \t \n \r) or unpaired surrogates; refine it further with pipe. */
export const SafeText = Schema.String.pipe(Schema.filter(isSafeText, { message: () => UNSAFE_TEXT_MESSAGE }))
