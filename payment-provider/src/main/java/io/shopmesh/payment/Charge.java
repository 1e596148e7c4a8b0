package io.shopmesh.payment;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;

/** A completed charge. Immutable: a replayed request gets this very object back. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Charge(
    String id,
    String object,
    BigDecimal amount,
    String currency,
    String description,
    Map<String, String> metadata,
    String status,
    String idempotencyKey,
    Instant created) {}
