package io.shopmesh.payment;

import java.math.BigDecimal;
import java.util.Map;

/** POST /v1/charges body. amount is in major units (e.g. 49.50). */
public record ChargeRequest(
    BigDecimal amount, String currency, String description, Map<String, String> metadata) {}
