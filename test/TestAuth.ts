/** The bootstrap admin token every test process and child process runs with (PORETRACK_ADMIN_TOKEN). */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghij"

/** The header that authenticates as that admin key. */
export const adminAuth: Readonly<Record<string, string>> = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }
