import { openPostgresLedger } from "../../src/ledger/index.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { ledgerSuite } from "./ledger.suite.ts";

/**
 * The real PostgreSQL on the machine (TEST_DATABASE_URL, or the local default). Every factory
 * call gets its own schema, dropped afterwards. If the server is unreachable the suite's
 * before() hook throws and every test fails: a ledger test must never pass by skipping.
 */
ledgerSuite("PostgreSQL (pg)", async () => {
  const schema = uniqueName("txwatch_ledger_test");
  const ledger = await openPostgresLedger({
    connectionString: DATABASE_URL,
    pool: { connectionTimeoutMillis: 5_000, max: 5 },
    schema,
  });
  return {
    ledger,
    dispose: async () => {
      await ledger.close();
      await dropSchema(schema);
    },
  };
});
