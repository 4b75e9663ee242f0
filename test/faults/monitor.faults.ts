import { after, before, test } from "node:test";
import { freePort } from "../support/loopback.ts";
import { metricValue, readyz } from "../support/monitor-probe.ts";
import { sleep } from "../support/wait.ts";
import { HonestClient } from "./honest-client.ts";
import { ordinary, paceLoad, transaction } from "./load.ts";
import {
  account,
  answersOf,
  type Cluster,
  checkAcceptedWhileDown,
  killRedis,
  openStage,
  rebuildLines,
  redisServer,
  Scenario,
  type Stage,
  startCluster,
} from "./stage.ts";
import { WebhookReceiver } from "./webhook-receiver.ts";

/**
 * REL-1: the fault suite. Each scenario runs `txwatch start` as a child on a PostgreSQL
 * cluster and a redis-server of this suite's own (loopback ports it chose), under load from an
 * honest client that records every answer, injects one fault, and then proves the accounting
 * exact (stage.ts `account`) plus the scenario's own behaviour. Run by `npm run test:faults`
 * (scripts/run-faults.mjs), not by `npm test`.
 */

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

function clientFor(
  scenario: Scenario,
  stage: Stage,
  options: { batchSize?: number; concurrency?: number } = {},
): HonestClient {
  const client = new HonestClient({
    url: () => stage.monitor.url,
    apiKey: stage.monitor.apiKey!,
    ...options,
  });
  scenario.cleanup(() => client.close());
  return client;
}

/** Runs a scenario's body, then always its cleanup and its row of the table. */
async function run(scenario: Scenario, body: () => Promise<void>): Promise<void> {
  let error: unknown;
  try {
    await body();
  } catch (caught) {
    error = caught;
  }
  await scenario.finish(error);
}

/**
 * A card paid with 7 times in the last minutes (REL-6): its 8th payment must be decided with
 * the card's velocity in view, whatever happened to the history store in between.
 */
function velocityCard(tag: string, k: number) {
  const options = {
    customerId: `${tag}-velocity-customer`,
    card: 9_000_000 + k,
    deviceId: `${tag}-velocity-device`,
    ipAddress: `172.16.${k}.1`,
  };
  const now = Date.now();
  const seven = Array.from({ length: 7 }, (_, i) =>
    transaction(`${tag}-velocity-${i + 1}`, {
      ...options,
      occurredAt: now - 6 * 60_000 + i * 40_000,
    }),
  );
  return {
    seven,
    ids: seven.map((tx) => tx.transactionId as string),
    eighth: () => transaction(`${tag}-velocity-8`, options),
    eighthId: `${tag}-velocity-8`,
  };
}

const VELOCITY_RULE = "card-testing-card-10m";

async function checkVelocity(
  scenario: Scenario,
  stage: Stage,
  id: string,
  what: string,
): Promise<void> {
  const decision = await stage.audit.decision(id);
  const rules = decision?.reasons.map((r) => r.rule) ?? [];
  scenario.check(
    rules.includes(VELOCITY_RULE),
    `${what}: ${id} was decided ${decision === undefined ? "never" : `${decision.action} with reasons [${rules.join(", ")}]`}, without ${VELOCITY_RULE}`,
  );
}

test("REL-1 REL-4 kill -9 of the monitor early in the load, mid-load and during the drain: every accepted id in the ledger once, chain verified, an honest retry answered within 5 s of the restart", {
  timeout: 180_000,
}, async () => {
  const scenario = new Scenario("a kill -9", "kill -9 monitor ×3 (early, mid-load, drain)");
  await run(scenario, async () => {
    const stage = await openStage(scenario, cluster, "a");
    const client = clientFor(scenario, stage, { batchSize: 100, concurrency: 4 });
    const kills: { point: string; inFlight: string[]; listeningAt: number }[] = [];
    const crash = async (point: string, inFlight: string[]) => {
      await stage.monitor.kill9();
      const generation = await stage.monitor.start();
      kills.push({ point, inFlight, listeningAt: generation.listeningAt });
    };
    /** Kills while a request is in flight (its ids claimed, maybe half put on the stream). */
    const crashMidRequest = async (point: string) => {
      const deadline = Date.now() + 5000;
      while (client.inFlightIds().length === 0 && Date.now() < deadline) await sleep(1);
      await crash(point, client.inFlightIds());
    };
    const load = paceLoad(client, "a", 2000, 14_000);
    await sleep(1500);
    await crashMidRequest("early");
    await sleep(3000);
    await crashMidRequest("mid-load");
    await load;
    // The drain: a last burst, every id of it answered, the processor still working through
    // the stream when the monitor is killed.
    client.submit(...Array.from({ length: 1500 }, (_, i) => ordinary("a", 2000 + i, 1500)));
    await client.settle(40_000);
    const stored = await stage.audit.rowsPerId();
    const backlog = [...client.final].filter(
      ([id, answer]) => answer !== "refused" && !stored.has(`demo/${id}`),
    ).length;
    await crash("drain", []);
    scenario.note(`drain kill with ${backlog} accepted ids not yet in the ledger`);
    scenario.check(backlog > 0, "the drain kill found no backlog: it was not during the drain");
    await account(scenario, stage, client);

    // REL-4: the ids of requests cut off by each kill, retried, answered within 5 s of the new
    // monitor listening, and never 409 after that.
    for (const kill of kills.filter((k) => k.inFlight.length > 0)) {
      const late: string[] = [];
      let slowest = 0;
      let conflicts = 0;
      for (const id of kill.inFlight) {
        const answers = client.answers.get(id) ?? [];
        const afterListening = answers.filter((a) => a.at >= kill.listeningAt);
        conflicts += afterListening.filter((a) => a.code === "TXW_ERR_CONFLICT").length;
        const definitive = answers.find((a) => a.status === "accepted" || a.status === "duplicate");
        if (definitive === undefined) {
          late.push(`${id} never answered (${answersOf(client, id)})`);
          continue;
        }
        const ms = definitive.at - kill.listeningAt;
        slowest = Math.max(slowest, ms);
        if (ms > 5000)
          late.push(`${id} after ${(ms / 1000).toFixed(1)} s (${answersOf(client, id)})`);
      }
      scenario.note(
        `${kill.point}: ${kill.inFlight.length} ids in flight, answered ≤ ${(slowest / 1000).toFixed(1)} s after listening, ${conflicts} × 409 after`,
      );
      scenario.check(
        late.length === 0,
        `REL-4 after the ${kill.point} kill, retries not answered within 5 s of listening: ${late.slice(0, 3).join("; ")}`,
      );
    }
    scenario.check(
      kills.filter((k) => k.point !== "drain").some((k) => k.inFlight.length > 0),
      "no request was in flight at the early or mid-load kill: REL-4 was not exercised",
    );
  });
});

test("REL-1 REL-3 REL-6 Redis restarted empty mid-load: POSTs accepted with deduplication deferred while it is down, the history rebuilt from the ledger (logged once) so a card's 8th payment still trips velocity, every accepted id in the ledger once", {
  timeout: 180_000,
}, async () => {
  const scenario = new Scenario("b Redis empty", "Redis stopped 6 s, restarted empty");
  await run(scenario, async () => {
    const stage = await openStage(scenario, cluster, "b");
    const client = clientFor(scenario, stage);
    const card = velocityCard("b", 1);
    const load = paceLoad(client, "b", 2500, 20_000);
    await sleep(1000);
    client.submit(...card.seven);
    const seven = await stage.audit.waitForIds(card.ids, 20_000);
    scenario.check(seven, "the card's 7 payments were not in the ledger within 20 s");
    await checkVelocity(scenario, stage, card.ids[6]!, "setup: the 7th payment before the restart");
    await killRedis(stage.redis, "SIGTERM");
    const downAt = Date.now();
    await sleep(6000);
    const offset = stage.monitor.output().length;
    const upAt = Date.now();
    stage.redis = await redisServer(stage.redisOptions);
    await sleep(200);
    client.submit(card.eighth());
    await load;
    await account(scenario, stage, client);
    checkAcceptedWhileDown(scenario, client, "Redis", downAt + 1000, upAt);
    await checkVelocity(scenario, stage, card.eighthId, "REL-6 the 8th payment after the restart");
    const rebuilt = rebuildLines(stage.monitor.linesSince(offset));
    scenario.note(`rebuild lines after the restart: ${rebuilt.length}`);
    scenario.check(
      rebuilt.length === 1,
      `REL-6: ${rebuilt.length} log lines report the history rebuilt after Redis came back empty (want 1)${rebuilt.length > 0 ? `: ${rebuilt.map((l) => l.msg).join(" | ")}` : ""}`,
    );
  });
});

test("REL-1 REL-6 Redis with AOF killed (kill -9) and restarted on its directory mid-load: the history survives (no rebuild logged), a card's 8th payment trips velocity, every accepted id in the ledger once", {
  timeout: 150_000,
}, async () => {
  const scenario = new Scenario(
    "c Redis AOF",
    "Redis (AOF everysec) kill -9, restarted on its dir",
  );
  await run(scenario, async () => {
    const stage = await openStage(scenario, cluster, "c", { appendonly: true });
    const client = clientFor(scenario, stage);
    const card = velocityCard("c", 2);
    const load = paceLoad(client, "c", 2500, 16_000);
    await sleep(1000);
    client.submit(...card.seven);
    const seven = await stage.audit.waitForIds(card.ids, 20_000);
    scenario.check(seven, "the card's 7 payments were not in the ledger within 20 s");
    await checkVelocity(scenario, stage, card.ids[6]!, "setup: the 7th payment before the kill");
    await sleep(1500); // appendfsync everysec: what is a second old is on disk
    await killRedis(stage.redis, "SIGKILL");
    const offset = stage.monitor.output().length;
    stage.redis = await redisServer(stage.redisOptions);
    await sleep(500);
    client.submit(card.eighth());
    await load;
    await account(scenario, stage, client);
    await checkVelocity(scenario, stage, card.eighthId, "REL-6 the 8th payment after the restart");
    const rebuilt = rebuildLines(stage.monitor.linesSince(offset));
    scenario.check(
      rebuilt.length === 0,
      `REL-6: the history survived on its AOF, yet ${rebuilt.length} log lines report a rebuild: ${rebuilt.map((l) => l.msg).join(" | ")}`,
    );
  });
});

test("REL-1 REL-2 REL-3 PostgreSQL stopped for 20 s under load: the monitor lives, POSTs accepted with deduplication deferred during the outage, all decided after, every accepted id in the ledger once", {
  timeout: 180_000,
}, async () => {
  const scenario = new Scenario("d PostgreSQL down", "PostgreSQL stopped 20 s (immediate)");
  let halted = false;
  scenario.cleanup(async () => {
    if (halted) await cluster.postgres.resume();
  });
  await run(scenario, async () => {
    const stage = await openStage(scenario, cluster, "d");
    const client = clientFor(scenario, stage);
    const load = paceLoad(client, "d", 3000, 32_000);
    await sleep(4000);
    halted = true;
    await cluster.postgres.halt();
    const downAt = Date.now();
    await sleep(20_000);
    const upAt = Date.now();
    await cluster.postgres.resume();
    halted = false;
    const diedDuring = stage.monitor.unexpectedExits.length;
    await load;
    await account(scenario, stage, client);
    scenario.check(
      diedDuring === 0,
      `REL-2: the monitor died ${diedDuring} time(s) while PostgreSQL was down (the suite restarted it as a supervisor would)`,
    );
    checkAcceptedWhileDown(scenario, client, "PostgreSQL", downAt + 1000, upAt);
  });
});

test("REL-1 REL-5 a record PostgreSQL refuses for good: quarantined with its reason and counted on /metrics, every other record of its partition decided, /readyz ready at the end, every other accepted id in the ledger once", {
  timeout: 150_000,
}, async () => {
  const scenario = new Scenario("e poison record", "insert trigger refusing one transaction id");
  await run(scenario, async () => {
    const stage = await openStage(scenario, cluster, "e");
    const poison = ordinary("e", 600);
    const poisonId = poison.transactionId as string;
    const customerId = poison.customerId as string;
    // Behind it in its partition: more payments of its customer (same partition key).
    const followers = Array.from({ length: 5 }, (_, k) =>
      transaction(`e-follower-${k}`, {
        customerId,
        card: 8_000_000 + k,
        deviceId: `e-follower-device-${k}`,
        ipAddress: `172.17.0.${k + 1}`,
      }),
    );
    await stage.audit.exec(`
      CREATE FUNCTION fault_refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.transaction_id = '${poisonId}' THEN
          RAISE EXCEPTION 'fault injection: transaction % refused for good', NEW.transaction_id;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER fault_refuse_one BEFORE INSERT ON transactions
        FOR EACH ROW EXECUTE FUNCTION fault_refuse_one();`);
    const quarantinedBefore =
      (await metricValue(stage.monitor.url, "txwatch_quarantined_records_total")) ?? 0;
    const client = clientFor(scenario, stage);
    await paceLoad(client, "e", 2000, 12_000, [], (n) => (n === 600 ? followers : []));
    await account(scenario, stage, client, { excluded: new Set([poisonId]) });

    scenario.check(
      client.acceptedIds.has(poisonId),
      `the poison record was not accepted by the API (${answersOf(client, poisonId)})`,
    );
    const rows = await stage.audit.rowsPerId();
    scenario.check(!rows.has(`demo/${poisonId}`), "the refused record is in the ledger after all");
    const quarantined = await stage.audit.quarantined(poisonId);
    scenario.note(
      `quarantine: ${quarantined.length === 0 ? "no row" : quarantined.map((q) => q.reason.slice(0, 120)).join(" | ")}`,
    );
    scenario.check(
      quarantined.length > 0 && quarantined.every((q) => q.reason.trim() !== ""),
      `REL-5: no quarantine row with a reason for ${poisonId}`,
    );
    const behind = followers.filter((f) => rows.has(`demo/${f.transactionId}`)).length;
    scenario.note(`${behind} of ${followers.length} payments behind it of its customer decided`);
    const metric = await metricValue(stage.monitor.url, "txwatch_quarantined_records_total");
    scenario.check(
      metric !== undefined && metric >= quarantinedBefore + 1,
      `REL-5: txwatch_quarantined_records_total went from ${quarantinedBefore} to ${metric}`,
    );
    let ready = await readyz(stage.monitor.url);
    for (let i = 0; i < 50 && ready?.status !== 200; i++) {
      await sleep(200);
      ready = await readyz(stage.monitor.url);
    }
    scenario.check(
      ready?.status === 200,
      `REL-5: /readyz at the end answers ${ready?.status}: ${JSON.stringify(ready?.body)}`,
    );
  });
});

test("REL-1 REL-6 the webhook receiver down for 18 s while alerts are raised: every alert of the ledger delivered once it returns, none lost, every accepted id in the ledger once", {
  timeout: 180_000,
}, async () => {
  const scenario = new Scenario("f webhook down", "alert receiver down 18 s (connection refused)");
  await run(scenario, async () => {
    const receiver = new WebhookReceiver(await freePort());
    await receiver.start();
    scenario.cleanup(() => receiver.stop());
    const stage = await openStage(scenario, cluster, "f", {
      env: { ALERT_WEBHOOK_URL: receiver.url },
    });
    const client = clientFor(scenario, stage);
    // Every 40th transaction, a card tested with 7 quick payments: the 5th to 7th raise alerts.
    const burst = (n: number) => {
      if (n % 40 !== 0) return [];
      const k = n / 40;
      return Array.from({ length: 7 }, (_, i) =>
        transaction(`f-burst-${k}-${i}`, {
          customerId: `f-burst-customer-${k}`,
          card: 7_000_000 + k,
          deviceId: `f-burst-device-${k}`,
          ipAddress: `172.18.${k >> 8}.${k & 255}`,
        }),
      );
    };
    const load = paceLoad(client, "f", 2400, 30_000, [], burst);
    await sleep(6000);
    await receiver.stop();
    const downAt = Date.now();
    await sleep(18_000);
    const upAt = Date.now();
    await receiver.start();
    await load;
    await account(scenario, stage, client);

    let alerts = await stage.audit.alertIds();
    let missing = alerts.filter((a) => !receiver.received.has(a.id));
    const deadline = Date.now() + 45_000;
    while (missing.length > 0 && Date.now() < deadline) {
      await sleep(500);
      alerts = await stage.audit.alertIds();
      missing = alerts.filter((a) => !receiver.received.has(a.id));
    }
    const during = alerts.filter((a) => a.createdAt >= downAt && a.createdAt <= upAt);
    scenario.note(
      `${alerts.length} alerts in the ledger, ${during.length} raised while the receiver was down, ${receiver.received.size} distinct received in ${receiver.posts} POSTs`,
    );
    scenario.check(
      during.length > 0,
      "no alert was raised while the receiver was down: the scenario proved nothing",
    );
    scenario.check(
      missing.length === 0,
      `REL-6: ${missing.length} of ${alerts.length} alerts never reached the webhook (${missing.filter((a) => a.createdAt >= downAt && a.createdAt <= upAt).length} of them raised during the outage), e.g. ids ${missing
        .slice(0, 5)
        .map((a) => a.id)
        .join(", ")}`,
    );
  });
});
