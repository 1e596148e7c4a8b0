-- The payment intent: every order carries its idempotency key from the start, the time of its last
-- charge attempt, and when the reconciler has to ask the provider about it (NULL: settled).
ALTER TABLE orders ADD COLUMN idempotency_key VARCHAR(64);
ALTER TABLE orders ADD COLUMN payment_attempted_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN next_check_at TIMESTAMP;
UPDATE orders SET idempotency_key = 'order-' || id, payment_attempted_at = updated_at;
-- Orders a crash left CREATED, and failed ones (the charge may have happened after all), get one
-- look at the provider.
UPDATE orders SET status = 'PAYMENT_PENDING', next_check_at = updated_at WHERE status = 'CREATED';
UPDATE orders SET next_check_at = updated_at WHERE status = 'PAYMENT_FAILED';
ALTER TABLE orders ALTER COLUMN idempotency_key SET NOT NULL;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key);
CREATE INDEX orders_next_check_at ON orders (next_check_at);
