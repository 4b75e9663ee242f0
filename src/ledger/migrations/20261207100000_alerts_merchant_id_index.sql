-- A reconnecting alert stream replays what its merchant missed (PRC-5): the merchant's alerts
-- after an id, in id order (alertsAfter with a merchant). Neither the primary key (every
-- merchant's alerts) nor the merchant's indexes by time serve it; this one does.
CREATE INDEX IF NOT EXISTS alerts_by_merchant_id ON alerts (merchant_id, id);
