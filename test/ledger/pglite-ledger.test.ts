import { openEmbeddedLedger } from "../../src/ledger/index.ts";
import { ledgerSuite } from "./ledger.suite.ts";

// In-memory PGlite: each factory call is a whole new database.
ledgerSuite("PGlite (embedded)", async () => {
  const ledger = await openEmbeddedLedger();
  return { ledger, dispose: () => ledger.close() };
});
