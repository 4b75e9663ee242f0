import pg from "pg";
import { sleep } from "../support/wait.ts";

/**
 * Reads the ledger straight from PostgreSQL (never through the monitor it audits): rows per
 * (merchant, transaction id), quarantine rows, alerts.
 */
export class LedgerAudit {
  constructor(readonly url: string) {}

  private async query<T extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** Rows of `transactions` per "merchant/id". */
  async rowsPerId(): Promise<Map<string, number>> {
    const rows = await this.query<{ merchant_id: string; transaction_id: string; n: string }>(
      "SELECT merchant_id, transaction_id, count(*) AS n FROM transactions GROUP BY 1, 2",
    );
    return new Map(rows.map((r) => [`${r.merchant_id}/${r.transaction_id}`, Number(r.n)]));
  }

  /** Polls until every id of `expected` (merchant demo) is in the ledger; false on timeout. */
  async waitForIds(expected: Iterable<string>, timeoutMs: number): Promise<boolean> {
    const want = [...expected].map((id) => `demo/${id}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const rows = await this.rowsPerId();
        if (want.every((key) => rows.has(key))) return true;
      } catch {
        // the cluster may be coming back
      }
      if (Date.now() > deadline) return false;
      await sleep(250);
    }
  }

  async decision(
    transactionId: string,
  ): Promise<{ action: string; reasons: { rule: string }[] } | undefined> {
    const rows = await this.query<{ action: string; reasons: { rule: string }[] }>(
      "SELECT action, reasons FROM decisions WHERE merchant_id = 'demo' AND transaction_id = $1",
      [transactionId],
    );
    return rows[0];
  }

  /** Quarantine rows whose payload names the id. */
  async quarantined(
    transactionId: string,
  ): Promise<{ reason: string; source: string; partition_key: string }[]> {
    return this.query(
      "SELECT reason, source, partition_key FROM quarantine WHERE strpos(payload, $1) > 0",
      [`"${transactionId}"`],
    );
  }

  async alertIds(): Promise<{ id: string; createdAt: number }[]> {
    const rows = await this.query<{ id: string; created_at: Date }>(
      "SELECT id::text AS id, created_at FROM alerts ORDER BY id",
    );
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at.getTime() }));
  }

  async exec(text: string): Promise<void> {
    await this.query(text);
  }
}
