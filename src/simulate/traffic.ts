import {
  type Label,
  MEAN_BURST_SIZE,
  PATTERN_NAMES,
  PATTERNS,
  type PatternContext,
  type PatternName,
  purchaseBody,
  type TxBody,
  usualAmount,
} from "./patterns.ts";
import {
  type Currency,
  type Customer,
  createPopulation,
  customerId,
  hashSeed,
  MEAN_PURCHASES,
  makeCustomer,
  Rng,
} from "./population.ts";

export interface TrafficOptions {
  seed: number;
  currency: Currency;
  merchantId: string;
  /** Prefix of every customer id (normally the run id). */
  namespace: string;
  /** Exactly this many transactions are planned. */
  total: number;
  /** Share of bursts that are fraud patterns (a normal burst is one purchase). */
  fraudRatio: number;
  /** Patterns to inject, in rotation; default all. */
  patterns?: readonly PatternName[];
}

export interface PlannedTx {
  label: Label;
  /** Bursts are numbered from 1; the transactions of one pattern share a number. */
  burst: number;
  /** Event time relative to the moment it is sent (<= 0). */
  offsetMs: number;
  body: TxBody;
}

/** Enough customers that most buy once or twice and the normal share of `total` is covered. */
export function populationSizeFor(
  total: number,
  fraudRatio: number,
  patterns: readonly PatternName[] = PATTERN_NAMES,
): number {
  const f = patterns.length === 0 ? 0 : Math.min(1, Math.max(0, fraudRatio));
  const meanFraud =
    patterns.length === 0
      ? 1
      : patterns.reduce((s, p) => s + MEAN_BURST_SIZE[p], 0) / patterns.length;
  const bursts = total / (1 - f + f * meanFraud);
  return Math.ceil(((bursts * (1 - f)) / MEAN_PURCHASES) * 1.1) + 1;
}

function normalPurchase(ctx: PatternContext, customer: Customer): TxBody {
  const method = ctx.rng.chance(0.85) ? customer.preferredMethod : "card";
  const card = ctx.rng.chance(0.75) ? customer.cards[0] : customer.cards[customer.cards.length - 1];
  const device = ctx.rng.chance(0.8)
    ? customer.devices[0]
    : customer.devices[customer.devices.length - 1];
  return purchaseBody(ctx, customer, { amount: usualAmount(ctx, customer), method, card, device });
}

/**
 * The run's traffic, lazily and deterministically: the same options give the same
 * transactions in the same order. Normal purchases are drawn from a shuffled deck holding each
 * customer as many times as they buy, so activity is skewed and spread over the whole run.
 */
export function* planTraffic(options: TrafficOptions): Generator<PlannedTx, void, undefined> {
  const patterns = options.patterns ?? PATTERN_NAMES;
  const size = populationSizeFor(options.total, options.fraudRatio, patterns);
  const population = createPopulation({
    seed: options.seed,
    currency: options.currency,
    size,
    namespace: options.namespace,
  });
  const rng = new Rng(hashSeed(options.seed, options.namespace, "traffic"));
  let lastCustomer = population.customers.length;
  const ctx: PatternContext = {
    rng,
    profile: population.profile,
    merchantId: options.merchantId,
    // Pattern actors continue the customer numbering, so ids do not give the label away.
    nextCustomerId: () => customerId(options.namespace, ++lastCustomer),
  };
  // A shuffled rotation rather than independent draws, so a short run still covers every pattern.
  const rotation = rng.shuffle([...patterns]);
  let turn = 0;
  let deck: Customer[] = [];
  let deckRounds = 0;
  let emitted = 0;
  let burst = 0;

  while (emitted < options.total) {
    burst++;
    if (rotation.length > 0 && rng.chance(options.fraudRatio)) {
      const name = rotation[turn % rotation.length]!;
      const txs = PATTERNS[name](ctx).sort((a, b) => a.offsetMs - b.offsetMs);
      // A truncated burst would not have the shape it claims; fill the tail with normal traffic.
      if (txs.length <= options.total - emitted) {
        turn++;
        for (const tx of txs) yield { label: name, burst, offsetMs: tx.offsetMs, body: tx.body };
        emitted += txs.length;
        continue;
      }
    }
    if (deck.length === 0) {
      // The first deck is the population; should the run outlast it, new customers arrive
      // rather than old ones buying again, which could push them over per-card velocity limits.
      const customers =
        deckRounds === 0
          ? population.customers
          : Array.from({ length: Math.max(1, Math.ceil(population.customers.length / 10)) }, () =>
              makeCustomer(rng, population.profile, ctx.nextCustomerId()),
            );
      deckRounds++;
      deck = rng.shuffle(customers.flatMap((c) => Array<Customer>(c.purchases).fill(c)));
    }
    yield { label: "normal", burst, offsetMs: 0, body: normalPurchase(ctx, deck.pop()!) };
    emitted++;
  }
}
