/**
 * Hostile text for the export tests: each entry is what a field holds and what every format must give back (the same
 * text, except that what no format can carry is U+FFFD: see ExportText.ts). The CSV formula guard comes on top.
 */
export const HOSTILE_TEXT: ReadonlyArray<readonly [input: string, expected: string]> = [
  ["plain", "plain"],
  ["with,comma", "with,comma"],
  ["with \"quotes\" and 'apostrophes'", "with \"quotes\" and 'apostrophes'"],
  ["line\nfeed", "line\nfeed"],
  ["carriage\rreturn", "carriage\rreturn"],
  ["crlf\r\nend\r\n", "crlf\r\nend\r\n"],
  ["tab\there", "tab\there"],
  ["nul\u0000byte", "nul\uFFFDbyte"],
  ["bell\u0007 and escape\u001b", "bell\uFFFD and escape\uFFFD"],
  ["lone high \uD800 surrogate", "lone high \uFFFD surrogate"],
  ["lone low \uDC00", "lone low \uFFFD"],
  ["reversed \uDC00\uD800 pair", "reversed \uFFFD\uFFFD pair"],
  ["a real pair 😀 stays", "a real pair 😀 stays"],
  ["non-characters \uFFFE\uFFFF", "non-characters \uFFFD\uFFFD"],
  ["=SUM(A1:A9)", "=SUM(A1:A9)"],
  ["<tag attr=\"1\">&amp;</tag> ]]> <!-- -->", "<tag attr=\"1\">&amp;</tag> ]]> <!-- -->"],
  ["\\u0000 is not a NUL", "\\u0000 is not a NUL"],
  ["µL × 漢字 ü", "µL × 漢字 ü"],
  ["  spaces around  ", "  spaces around  "],
  ["", ""]
]
