/**
 * Base time of tests with a manual clock: a UTC midnight about a year ahead of the real
 * date. DynamoDB Local really deletes items whose TTL attribute has passed (member items,
 * dedupe items), so a fixed date in the past would make tests on the real backends depend
 * on the day they run.
 */
export const TEST_DAY_MS = (Math.floor(Date.now() / 86_400_000) + 365) * 86_400_000;
