import { MemoryHistoryStore } from "../../src/history/index.ts";
import { openEmbeddedLedger } from "../../src/ledger/index.ts";
import { processBatchSuite } from "./process-batch.suite.ts";

processBatchSuite("embedded PGlite + in-memory history", async () => {
  const ledger = await openEmbeddedLedger({});
  const history = new MemoryHistoryStore();
  return {
    ledger,
    history,
    async close() {
      await history.close();
      await ledger.close();
    },
  };
});
