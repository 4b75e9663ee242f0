import type { TransactionInput } from "../transaction/schema.ts";
import {
  type Customer,
  type Device,
  type MerchantProfile,
  makeCardNumber,
  makeCustomer,
  makeDevice,
  makeIp,
  priceOf,
  type Rng,
  WITHIN_CUSTOMER_SIGMA,
} from "./population.ts";

export const PATTERN_NAMES = [
  "card_testing",
  "account_takeover",
  "device_card_cycling",
  "structuring",
  "new_customer_high_value",
  "amount_spike",
] as const;
export type PatternName = (typeof PATTERN_NAMES)[number];
export type Label = "normal" | PatternName;
export const LABELS: readonly Label[] = ["normal", ...PATTERN_NAMES];

/** A transaction without the two fields stamped at send time (id and occurredAt). */
export type TxBody = Omit<TransactionInput, "transactionId" | "occurredAt">;

/**
 * One transaction of a burst. offsetMs (<= 0) places it before the moment it is sent, so a
 * burst can span minutes or hours of event time while the run lasts seconds: the monitor
 * counts a transaction at min(occurredAt, receivedAt), so backdating is honoured.
 */
export interface BurstTx {
  offsetMs: number;
  body: TxBody;
}

export interface PatternContext {
  rng: Rng;
  profile: MerchantProfile;
  merchantId: string;
  /** A customer id nobody in this run has used yet. */
  nextCustomerId(): string;
}

export interface Purchase {
  amount: number;
  card?: string;
  device?: Device;
  ip?: string;
  country?: string;
  method?: TransactionInput["paymentMethod"]["type"];
}

/** The wire body of one purchase by `customer`; the overrides are what a pattern changes. */
export function purchaseBody(ctx: PatternContext, customer: Customer, p: Purchase): TxBody {
  const method = p.method ?? "card";
  const device = p.device ?? customer.devices[0]!;
  const country = p.country ?? customer.country;
  return {
    merchantId: ctx.merchantId,
    customerId: customer.id,
    amount: p.amount,
    currency: ctx.profile.currency,
    paymentMethod:
      method === "card"
        ? { type: "card", card: { number: p.card ?? customer.cards[0]! } }
        : { type: method },
    channel: device.channel,
    ipAddress: p.ip ?? customer.ip,
    deviceId: device.id,
    country,
    shippingCountry: customer.country,
    mcc: ctx.profile.mcc,
    metadata: { orderId: `o-${ctx.rng.hex(10)}` },
  };
}

/** An amount around the customer's usual spend, priced like the shop prices things. */
export function usualAmount(ctx: PatternContext, customer: Customer, cap?: number): number {
  const raw = ctx.rng.logNormal(customer.typicalAmount, WITHIN_CUSTOMER_SIGMA);
  const limit = cap ?? ctx.profile.maxAmount;
  return priceOf(ctx.profile, Math.min(limit, Math.max(ctx.profile.minAmount, raw)));
}

/** Sorted offsets spread over `spanMs`, the last at 0: the burst ends when it is sent. */
function spread(rng: Rng, count: number, gapMinMs: number, gapMaxMs: number): number[] {
  const offsets = [0];
  for (let i = 1; i < count; i++) offsets.unshift(offsets[0]! - rng.uniform(gapMinMs, gapMaxMs));
  return offsets.map(Math.round);
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function freshCustomer(ctx: PatternContext): Customer {
  return makeCustomer(ctx.rng, ctx.profile, ctx.nextCustomerId());
}

/** Stolen card checked with tiny charges before it is sold or used big. */
function cardTesting(ctx: PatternContext): BurstTx[] {
  const fraudster = freshCustomer(ctx);
  const card = makeCardNumber(ctx.rng, ctx.rng.pick(ctx.profile.bins));
  const count = ctx.rng.int(6, 10);
  // All within 55 s so the whole burst fits any one-minute window.
  const offsets = spread(ctx.rng, count, 2 * SECOND, 55_000 / (count - 1));
  const tiny = ctx.profile.currency === "JPY" ? [10, 300] : [100, 500];
  return offsets.map((offsetMs) => ({
    offsetMs,
    body: purchaseBody(ctx, fraudster, { card, amount: ctx.rng.int(tiny[0]!, tiny[1]!) }),
  }));
}

/** A home purchase, then minutes later the same account from abroad, new device, big basket. */
function accountTakeover(ctx: PatternContext): BurstTx[] {
  const victim = freshCustomer(ctx);
  const history = ctx.rng.int(1, 3);
  const burst: BurstTx[] = [];
  const homeAt = -ctx.rng.int(3, 10) * MINUTE;
  for (let i = history; i >= 1; i--) {
    burst.push({
      offsetMs: homeAt - i * ctx.rng.int(1, 4) * HOUR,
      body: purchaseBody(ctx, victim, { amount: usualAmount(ctx, victim) }),
    });
  }
  burst.push({
    offsetMs: homeAt,
    body: purchaseBody(ctx, victim, { amount: usualAmount(ctx, victim) }),
  });
  const country = ctx.rng.pick(ctx.profile.foreignCountries);
  const device = makeDevice(ctx.rng);
  const ip = makeIp(ctx.rng);
  const takeovers = ctx.rng.int(1, 2);
  const cap = ctx.profile.structuringThreshold * 0.8;
  for (let i = takeovers - 1; i >= 0; i--) {
    const base = Math.max(victim.typicalAmount, ctx.profile.medianAmount);
    const amount = priceOf(ctx.profile, Math.min(cap, base * ctx.rng.uniform(5, 10)));
    burst.push({
      offsetMs: 0 - i * ctx.rng.int(30, 90) * SECOND,
      body: purchaseBody(ctx, victim, { amount, device, ip, country }),
    });
  }
  return burst;
}

/** One device (an attacker's phone or browser) running through a list of stolen cards. */
function deviceCardCycling(ctx: PatternContext): BurstTx[] {
  const fraudster = freshCustomer(ctx);
  const count = ctx.rng.int(5, 8);
  const offsets = spread(ctx.rng, count, 20 * SECOND, 70 * SECOND);
  return offsets.map((offsetMs) => ({
    offsetMs,
    body: purchaseBody(ctx, fraudster, {
      card: makeCardNumber(ctx.rng, ctx.rng.pick(ctx.profile.bins)),
      amount: priceOf(ctx.profile, fraudster.typicalAmount * ctx.rng.uniform(1, 3)),
    }),
  }));
}

/** Several payments just under the reporting threshold within a few hours. */
function structuring(ctx: PatternContext): BurstTx[] {
  const customer = freshCustomer(ctx);
  const threshold = ctx.profile.structuringThreshold;
  // Structurers pick round-looking amounts: ¥985,000, R$ 9.870,00.
  const step = ctx.profile.currency === "JPY" ? 1000 : 100;
  const count = ctx.rng.int(3, 5);
  const offsets = spread(ctx.rng, count, 15 * MINUTE, 75 * MINUTE);
  return offsets.map((offsetMs) => {
    const raw = ctx.rng.uniform(0.9, 0.999) * threshold;
    return {
      offsetMs,
      body: purchaseBody(ctx, customer, { amount: Math.floor(raw / step) * step }),
    };
  });
}

/** A brand-new account with a never-seen card whose first purchase is very large. */
function newCustomerHighValue(ctx: PatternContext): BurstTx[] {
  const customer = freshCustomer(ctx);
  const card = makeCardNumber(ctx.rng, ctx.rng.pick(ctx.profile.bins));
  // Large, yet under the structuring band so this pattern is caught for what it is.
  const amount = priceOf(
    ctx.profile,
    ctx.rng.uniform(0.25, 0.8) * ctx.profile.structuringThreshold,
  );
  return [{ offsetMs: 0, body: purchaseBody(ctx, customer, { card, amount }) }];
}

/** An established customer's ordinary day, then one purchase at 10x+ anything before. */
function amountSpike(ctx: PatternContext): BurstTx[] {
  const customer = freshCustomer(ctx);
  const count = ctx.rng.int(4, 6);
  // Gaps keep the whole day inside 24 h, the longest window history keeps.
  const offsets = spread(ctx.rng, count + 1, 30 * MINUTE, 3 * HOUR);
  const cap = (ctx.profile.structuringThreshold * 0.8) / 15;
  const amounts = offsets.slice(0, count).map(() => usualAmount(ctx, customer, cap));
  // A spike worth an analyst's time is also material in itself (¥110,000 / R$2,200 at least).
  const floor = ctx.profile.medianAmount * 20;
  const spike = priceOf(
    ctx.profile,
    Math.max(floor, Math.max(...amounts) * ctx.rng.uniform(11, 15)),
  );
  return offsets.map((offsetMs, i) => ({
    offsetMs,
    body: purchaseBody(ctx, customer, { amount: i < count ? amounts[i]! : spike }),
  }));
}

export const PATTERNS: Readonly<Record<PatternName, (ctx: PatternContext) => BurstTx[]>> = {
  card_testing: cardTesting,
  account_takeover: accountTakeover,
  device_card_cycling: deviceCardCycling,
  structuring,
  new_customer_high_value: newCustomerHighValue,
  amount_spike: amountSpike,
};

/** Mean burst sizes, for sizing the population so normal traffic fills the rest. */
export const MEAN_BURST_SIZE: Readonly<Record<PatternName, number>> = {
  card_testing: 8,
  account_takeover: 4.5,
  device_card_cycling: 6.5,
  structuring: 4,
  new_customer_high_value: 1,
  amount_spike: 6,
};
