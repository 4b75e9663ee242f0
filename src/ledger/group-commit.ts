import { transactionKey } from "../transaction/key.ts";
import type { StoredBatch } from "./commit.ts";
import type { AlertDraft, LedgerRecord, QuarantineRecord } from "./types.ts";

export type CommitFn = (
  records: LedgerRecord[],
  alerts: AlertDraft[],
  quarantined: QuarantineRecord[],
) => Promise<StoredBatch>;

interface Waiting {
  records: LedgerRecord[];
  alerts: AlertDraft[];
  quarantined: QuarantineRecord[];
  resolve: (stored: StoredBatch) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, one committer per hash chain: batches handed in while a commit on their chain
 * is running wait for it, then go to the database together as one transaction. A chain admits
 * one writer at a time anyway, so separate transactions would only queue on its lock, each
 * paying its own statements and WAL flush; one transaction for all pays once. Each caller
 * still gets what was stored of its own batch.
 *
 * A group that fails is committed again batch by batch, so that a batch the database refuses
 * fails alone and does not hold the others back.
 */
export class GroupCommitter {
  private waiting: Waiting[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly commit: CommitFn,
    /** Told when a group failed, before its batches are committed one by one. */
    private readonly onGroupFailure: (error: unknown, batches: number) => void = () => {},
  ) {}

  submit(
    records: LedgerRecord[],
    alerts: AlertDraft[],
    quarantined: QuarantineRecord[],
  ): Promise<StoredBatch> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ records, alerts, quarantined, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      if (group.length === 1) await this.commitAlone(group[0]!);
      else await this.commitGroup(group);
    }
    // Cleared with no await after the emptiness check, so no batch can be left waiting.
    this.running = undefined;
  }

  private async commitAlone(batch: Waiting): Promise<void> {
    try {
      batch.resolve(await this.commit(batch.records, batch.alerts, batch.quarantined));
    } catch (error) {
      batch.reject(error);
    }
  }

  private async commitGroup(group: Waiting[]): Promise<void> {
    // A transaction in two batches of the group belongs to the first, as it would if each were
    // committed alone in turn: the later copy, and the alerts its own decision drafted, go.
    const taken = new Set<string>();
    const records: LedgerRecord[] = [];
    const alerts: AlertDraft[] = [];
    for (const batch of group) {
      const own = new Set<string>();
      for (const record of batch.records) {
        const key = transactionKey(record.tx);
        if (taken.has(key) && !own.has(key)) continue;
        taken.add(key);
        own.add(key);
        records.push(record);
      }
      alerts.push(...batch.alerts.filter((a) => own.has(transactionKey(a))));
    }
    let stored: StoredBatch;
    try {
      stored = await this.commit(
        records,
        alerts,
        group.flatMap((b) => b.quarantined),
      );
    } catch (error) {
      // Reported even when every batch then commits alone, or the failure would leave no trace.
      this.onGroupFailure(error, group.length);
      for (const batch of group) await this.commitAlone(batch);
      return;
    }
    // Stored records and quarantine rows are the very objects handed in: each batch finds its
    // own by identity, and its alerts by its records' keys.
    const inserted = new Set(stored.inserted);
    const quarantined = new Set(stored.quarantined);
    for (const batch of group) {
      const own = batch.records.filter((r) => inserted.has(r));
      const keys = new Set(own.map((r) => transactionKey(r.tx)));
      batch.resolve({
        inserted: own,
        alerts: stored.alerts.filter((a) => keys.has(transactionKey(a))),
        quarantined: batch.quarantined.filter((q) => quarantined.has(q)),
      });
    }
  }
}
