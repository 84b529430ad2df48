/**
 * Text every export format can carry the same way. XML 1.0 cannot hold C0 control characters other than tab, line
 * feed and carriage return, nor U+FFFE/U+FFFF; UTF-8 cannot hold an unpaired surrogate. Each of these is replaced with
 * U+FFFD (the replacement character) in every format, so that all formats of one export carry the same text and a
 * reader sees where something was replaced (rather than silently losing it).
 */

const UNCARRIABLE =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const UNCARRIABLE_ALL = new RegExp(UNCARRIABLE.source, "g")

/** `s` with every character no format can carry replaced by U+FFFD (the same string when there is none). */
export const cleanText = (s: string): string => (UNCARRIABLE.test(s) ? s.replace(UNCARRIABLE_ALL, "\uFFFD") : s)
