CREATE TABLE orders (
    id              VARCHAR(36)    NOT NULL PRIMARY KEY,
    product_id      INTEGER        NOT NULL,
    product_name    VARCHAR(200),
    product_version VARCHAR(16),
    quantity        INTEGER        NOT NULL,
    customer        VARCHAR(100)   NOT NULL,
    unit_price      DECIMAL(12, 2) NOT NULL,
    total           DECIMAL(12, 2) NOT NULL,
    currency        VARCHAR(3)     NOT NULL,
    status          VARCHAR(20)    NOT NULL,
    charge_id       VARCHAR(64),
    failure_reason  VARCHAR(500),
    created_at      TIMESTAMP      NOT NULL,
    updated_at      TIMESTAMP      NOT NULL
);
CREATE INDEX orders_created_at ON orders (created_at);
