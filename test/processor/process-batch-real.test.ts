import { RedisHistoryStore } from "../../src/history/index.ts";
import { openPostgresLedger } from "../../src/ledger/index.ts";
import {
  connectTestRedis,
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  uniqueName,
} from "../support/services.ts";
import { processBatchSuite } from "./process-batch.suite.ts";

processBatchSuite("real PostgreSQL + Redis", async () => {
  const schema = uniqueName("txw_test");
  const prefix = uniqueName("txwtest");
  const redis = await connectTestRedis();
  const ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
  const history = new RedisHistoryStore(redis, prefix);
  return {
    ledger,
    history,
    async close() {
      await deleteKeys(redis, prefix);
      await history.close();
      await ledger.close();
      await dropSchema(schema);
    },
  };
});
